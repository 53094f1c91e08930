"""Cache benchmarks (issue 3), each measured side by side in one run:

1. Resume of a finished 100k-row pipeline vs ``python -c "import synthgen"`` plus loading the same
   dataset with ``datasets`` (target: at most 2x).
2. Kill and resume: an LLM-free 100k-row pipeline killed at 50% of its work (when its costly step has
   written half of its batches); the rerun's wall time vs a full run (target: at most 0.6x). Every run
   pays a fixed start-up (interpreter, imports, worker processes: about 2 s here) that a resume cannot
   save, so the ratio is printed for a light step (20 µs a row) and a heavier one (100 µs a row).
3. Storage overhead: bytes in the cache per byte of final Parquet output.

Run: ``make bench`` or ``python benchmarks/cache.py``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROWS = 100_000
HERE = Path(__file__).parent
PIPELINE = f"""
import sys, time
sys.path.insert(0, {str(HERE)!r})
from overhead import Apply, Numbers
from synthgen import Pipeline
with Pipeline(name="cache-bench", cache_dir=sys.argv[1]) as p:
    Numbers(count={ROWS}, batch_size=2_000) >> Apply(fn="f1", input_batch_size=2_000) \\
        >> Apply(name="work", fn=sys.argv[2] if len(sys.argv) > 2 else "slow", input_batch_size=2_000) \\
        >> Apply(fn="f3", input_batch_size=2_000)
d = p.run()
print(len(d["default"]["train"]), flush=True)
"""


def run(code: str, *args: str, env: dict[str, str] | None = None) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code, *args], check=True, capture_output=True,
                   env={**os.environ, "SYNTHGEN_LOG_LEVEL": "WARNING", **(env or {})})
    return time.perf_counter() - start


BATCHES = ROWS // 2_000  # batches of the costly step "work"


def released(cache: str) -> int:
    """Batches of step "work" released so far (the run logs each one in its pipeline folder)."""
    return sum(len(log.read_text().splitlines()) for log in Path(cache).glob("cache-bench/*/batch_manager_steps/work.*.log"))


def kill_at_half(cache: str, fn: str) -> int:
    """Start the pipeline and kill -9 it once its costly step has released half of its batches."""
    proc = subprocess.Popen([sys.executable, "-c", PIPELINE, cache, fn], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env={**os.environ, "SYNTHGEN_LOG_LEVEL": "WARNING"})
    while proc.poll() is None and released(cache) < BATCHES // 2:
        time.sleep(0.01)
    done = released(cache)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    return done


def size(path: Path, pattern: str = "*") -> int:
    return sum(f.stat().st_size for f in path.rglob(pattern) if f.is_file())


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        full = run(PIPELINE, f"{tmp}/a")
        resume = run(PIPELINE, f"{tmp}/a")
        data = next(Path(tmp, "a", "cache-bench").glob("*/data"))
        files = sorted(str(f) for f in data.rglob("*.parquet"))
        baseline = run(f"import synthgen, datasets; datasets.Dataset.from_parquet({files!r}, keep_in_memory=True)",
                       env={"HF_DATASETS_CACHE": f"{tmp}/hf"})
        print(f"full run of {ROWS:,} rows:            {full:6.2f} s")
        print(f"rerun of the finished pipeline:   {resume:6.2f} s")
        print(f"import synthgen + datasets load:  {baseline:6.2f} s  -> ratio {resume / baseline:.2f} (target <= 2)")
        for fn, label in (("slow", "20 us/row"), ("slower", "100 us/row")):
            whole = run(PIPELINE, f"{tmp}/full-{fn}", fn)
            done = kill_at_half(f"{tmp}/kill-{fn}", fn)
            resumed = run(PIPELINE, f"{tmp}/kill-{fn}", fn)
            print(f"[{label}] full run {whole:5.2f} s; killed at {done}/{BATCHES} batches of its costly step, "
                  f"rerun {resumed:5.2f} s -> ratio {resumed / whole:.2f} (target <= 0.6)")
        cache_bytes = size(Path(tmp, "a")) - size(data)
        print(f"storage: {cache_bytes / size(data):.1f} bytes in the cache per byte of final Parquet "
              f"({cache_bytes / 2**20:.1f} MB vs {size(data) / 2**20:.1f} MB)")


if __name__ == "__main__":
    main()
