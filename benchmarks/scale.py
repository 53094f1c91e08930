"""Scale with the data (issue 19): what users do — rows passed inline with ``LoadDataFromDicts(data=rows)``,
three trivial ``@step`` functions, batches of 1,000 rows — against a plain loop that applies the same
functions and writes Parquet (``plain_loop.py``), measured in the same run.

The pipeline and the plain loop each run as a process of their own, timed whole (interpreter and imports
included: what a user waits for), best of :data:`RUNS`; the pipeline's peak PSS is that of its whole
process tree, workers included. Printed:

- wall time and peak PSS at each size, and the ratio to the plain loop;
- peak PSS at the largest size / at the smallest (target <= 1.5), with and without the caller's own list
  of row dicts (measured in the child as it builds it);
- the cached rerun of the finished smallest pipeline, whole process (target <= 1.0 s at 100k), beside a
  process that only imports ``datasets``;
- cache bytes per byte of final Parquet: 4 steps over 100k rows of 200-character text, each adding
  one small column (target <= 1.5);
- checkpoint bytes per byte of final Parquet, the same pipeline exported 20 times (target <= 2).

Run: ``python benchmarks/scale.py [sizes...]`` (default 100000 1000000).
"""

from __future__ import annotations

import random
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psutil
from plain_loop import f1, f2, f3  # the baseline's functions: the same work in both

from synthgen import CheckpointStrategy, Pipeline
from synthgen.steps import step
from synthgen.steps.base import StepInput
from synthgen.steps.loaders import LoadDataFromDicts

BATCH = 1_000
TEXT_ROWS = 100_000


@step(inputs=["n"], outputs=["a"])
def Step1(inputs: StepInput):  # noqa: ANN201, N802 - a step class, named like one
    yield [f1(r) for r in inputs]


@step(inputs=["a"], outputs=["b"])
def Step2(inputs: StepInput):  # noqa: ANN201, N802
    yield [f2(r) for r in inputs]


@step(inputs=["b"], outputs=["c"])
def Step3(inputs: StepInput):  # noqa: ANN201, N802
    yield [f3(r) for r in inputs]


@step(inputs=["text"], outputs=["length"])
def Length(inputs: StepInput):  # noqa: ANN201, N802
    yield [{**r, "length": len(r["text"])} for r in inputs]


@step(inputs=["text"], outputs=["first"])
def First(inputs: StepInput):  # noqa: ANN201, N802
    yield [{**r, "first": r["text"][:1]} for r in inputs]


@step(inputs=["length"], outputs=["long"])
def Long(inputs: StepInput):  # noqa: ANN201, N802
    yield [{**r, "long": r["length"] > 100} for r in inputs]


def run_numbers(n: int, cache: str) -> int:
    before = _pss(psutil.Process())
    rows = [{"n": i} for i in range(n)]
    # What the caller's own list of rows weighs (it holds it for the whole run): printed for the parent,
    # which reports the PSS ratio with and without it.
    print(f"CALLER_ROWS_MB {(_pss(psutil.Process()) - before) / 2**20:.1f}", file=sys.stderr, flush=True)
    with Pipeline(name=f"scale-{n}", cache_dir=cache) as p:
        LoadDataFromDicts(data=rows, batch_size=BATCH) >> Step1(input_batch_size=BATCH) \
            >> Step2(input_batch_size=BATCH) >> Step3(input_batch_size=BATCH)
    return len(p.run()["default"]["train"])


def run_text(cache: str, checkpoints: str | None) -> int:
    rows = [{"id": i, "text": sample_text(i)} for i in range(TEXT_ROWS)]
    with Pipeline(name="scale-text", cache_dir=cache) as p:
        LoadDataFromDicts(data=rows, batch_size=BATCH) >> Length(input_batch_size=BATCH) \
            >> First(input_batch_size=BATCH) >> Long(input_batch_size=BATCH)
    strategy = CheckpointStrategy(every_n_rows=TEXT_ROWS // 20) if checkpoints else None
    return len(p.run(checkpoint_strategy=strategy, checkpoint_path=checkpoints)["default"]["train"])


def sample_text(seed: int) -> str:
    """200 characters of words, different for every row (text as steps write it, not one repeated line)."""
    rng = random.Random(seed)
    words = [WORDS[rng.randrange(len(WORDS))] for _ in range(60)]
    return " ".join(words)[:200]


WORDS = [f"{a}{b}{c}" for a in "bcdfgklmnprstvz" for b in "aeiou" for c in ("", "n", "r", "st", "l")]


def child(argv: list[str]) -> None:
    if argv[0] == "numbers":
        print(run_numbers(int(argv[1]), argv[2]))
    else:
        print(run_text(argv[1], argv[2] if len(argv) > 2 else None))


def measured(*args: str) -> tuple[float, float]:
    """Run this script as a child with ``args``: ``(wall seconds, peak PSS MB of its process tree)``;
    what the child says of the rows it holds goes to :data:`CALLER_ROWS_MB`."""
    start = time.perf_counter()
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen([sys.executable, __file__, "--child", *args], stdout=subprocess.DEVNULL, stderr=err)
        wall, peak = _sample_pss(psutil.Process(proc.pid), proc, start)
        err.seek(0)
        said = err.read().decode(errors="replace")
    if proc.returncode != 0:
        raise SystemExit(f"child {args} failed with exit code {proc.returncode}:\n{said[-3000:]}")
    for line in said.splitlines():
        if line.startswith("CALLER_ROWS_MB "):
            CALLER_ROWS_MB[args[1]] = float(line.split()[1])
    return wall, peak


CALLER_ROWS_MB: dict[str, float] = {}


def _sample_pss(root: psutil.Process, proc: subprocess.Popen, start: float) -> tuple[float, float]:
    """Seconds from ``start`` until ``proc`` ends, and the peak PSS (MB) of ``root``'s process tree,
    sampled every :data:`SAMPLE_EVERY` seconds meanwhile (the wall time is taken as the process ends,
    not after the sampler's last sleep).

    The sampler shares the 2 cores with the run it measures: it reads ``smaps_rollup`` (the kernel's
    sums: half the time of psutil's full ``smaps`` parse, 1.3 against 2.6 ms for a 300 MB process), so
    the measurement costs the measured run ~3% of a core, not ~20%.
    """
    peak = [0.0]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            try:
                tree = [root, *root.children(recursive=True)]
            except psutil.Error:
                tree = []
            peak[0] = max(peak[0], sum(_pss(p) for p in tree) / 2**20)
            done.wait(SAMPLE_EVERY)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    proc.wait()
    wall = time.perf_counter() - start
    done.set()
    thread.join()
    return wall, peak[0]


SAMPLE_EVERY = 0.2


def _pss(process: psutil.Process) -> int:
    try:
        with open(f"/proc/{process.pid}/smaps_rollup", "rb") as fh:
            return next(int(line.split()[1]) * 1024 for line in fh if line.startswith(b"Pss:"))
    except (OSError, StopIteration):
        try:
            return process.memory_full_info().pss  # no smaps_rollup (an older kernel), or the process ended
        except psutil.Error:
            return 0


RUNS = 3  # each figure is the best of this many runs: the plain loop alone varies 2-4 s at 1M here


PLAIN = Path(__file__).with_name("plain_loop.py")


def _timed(function: Any, *args: Any, **kwargs: Any) -> float:
    start = time.perf_counter()
    function(*args, **kwargs)
    return time.perf_counter() - start


def _import_seconds(module: str) -> float:
    """Wall seconds of a whole ``python -c "import <module>"`` process."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", f"import {module}"], check=True)
    return time.perf_counter() - start


def folder_bytes(*folders: Path) -> int:
    return sum(f.stat().st_size for folder in folders if folder.exists() for f in folder.rglob("*") if f.is_file())


def main(sizes: list[int]) -> None:
    peaks: dict[int, float] = {}
    print(f"{'rows':>10} {'plain s':>8} {'synthgen s':>11} {'ratio':>6} {'peak PSS MB':>12}   (best of {RUNS} each)")
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            plain = min(_timed(subprocess.run, [sys.executable, str(PLAIN), str(n), f"{tmp}/plain-{n}.parquet"],
                               check=True) for _ in range(RUNS))
            runs = [measured("numbers", str(n), f"{tmp}/cache-{n}-{i}") for i in range(RUNS)]  # each from scratch
            wall, peaks[n] = min(w for w, _ in runs), max(p for _, p in runs)
            print(f"{n:>10,} {plain:>8.2f} {wall:>11.2f} {wall / plain:>6.1f} {peaks[n]:>12,.0f}")
        if len(sizes) > 1:
            big, small = sizes[-1], sizes[0]
            print(f"peak PSS {big:,} / {small:,} rows: {peaks[big] / peaks[small]:.2f}")
            held = {n: CALLER_ROWS_MB.get(str(n), 0.0) for n in (big, small)}
            print(f"  the caller's own list of row dicts: {held[big]:,.0f} MB at {big:,}, {held[small]:,.0f} MB at "
                  f"{small:,}; without it: {(peaks[big] - held[big]) / (peaks[small] - held[small]):.2f}")
        reruns = [measured("numbers", str(sizes[0]), f"{tmp}/cache-{sizes[0]}-0")[0] for _ in range(RUNS)]
        print(f"cached rerun of the finished {sizes[0]:,}-row pipeline, whole process: best {min(reruns):.2f} s "
              f"of {', '.join(f'{r:.2f}' for r in reruns)}")
        floor = min(_import_seconds("datasets") for _ in range(3))
        print(f"  a process that only imports datasets (which the returned Distiset is made of): {floor:.2f} s")
        storage(Path(tmp))


def storage(tmp: Path) -> None:
    cache, ckpt = tmp / "text-cache", tmp / "text-ckpt"
    measured("text", str(cache), str(ckpt))
    [pdir] = [p for p in (cache / "scale-text").iterdir() if p.is_dir()]
    final = folder_bytes(pdir / "data")
    shared = folder_bytes(cache / "objects", cache / "batches", cache / "inline")
    exports = folder_bytes(ckpt)
    print(f"cache bytes per final Parquet byte (4 steps, {TEXT_ROWS:,} rows of 200-character text): "
          f"{shared / final:.2f} ({shared / 2**20:.1f} MB / {final / 2**20:.1f} MB)")
    print(f"checkpoint bytes per final Parquet byte (20 exports): {exports / final:.2f} ({exports / 2**20:.1f} MB)")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        child(sys.argv[2:])
    else:
        main([int(a) for a in sys.argv[1:]] or [100_000, 1_000_000])
