"""A multirun sweep's jobs at once against one after another, over one cache: what a user gets from
``python -m synthgen -m hydra/launcher=joblib ...`` compared with Hydra's default (sequential) launcher.

The sweep is ``num_rows=N/3,2N/3,N`` over one input file, so the jobs overlap: the 2N/3 job needs the
N/3 job's rows and the N job needs both. Both ways must send N requests (each distinct prompt once);
at once, the jobs share the work as it happens instead of after each other.

Run: ``python benchmarks/concurrent_sweep.py [N]`` (default 600). Needs the dev extra (the joblib launcher).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))

from _common import ServerProcess  # noqa: E402

LATENCY = 0.2


def sweep(server: ServerProcess, data: str, cache: str, n: int, launcher: list[str]) -> float:
    sizes = ",".join(str(n * k // 3) for k in (1, 2, 3))
    args = [sys.executable, "-m", "synthgen", "-m", *launcher, "pipeline=text_generation",
            "llm=openai_compatible", f"llm.base_url={server.base_url}", "llm.model=bench", "llm.max_concurrency=64",
            f"pipeline.steps.load.data_files={data}", f"num_rows={sizes}"]
    env = {**os.environ, "SYNTHGEN_CACHE_DIR": cache, "SYNTHGEN_LOG_LEVEL": "WARNING", "OPENAI_API_KEY": "bench"}
    start = time.perf_counter()
    subprocess.run(args, cwd=tempfile.mkdtemp(), env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def main(n: int) -> None:
    folder = tempfile.mkdtemp()
    data = os.path.join(folder, "prompts.jsonl")
    with open(data, "w") as fh:
        fh.writelines(json.dumps({"instruction": f"Write about topic {i}."}) + "\n" for i in range(n))
    results = {}
    for label, launcher in (("one after another", []),
                            ("at once (joblib, 3 jobs)", ["hydra/launcher=joblib", "hydra.launcher.n_jobs=3"])):
        with ServerProcess(latency=LATENCY) as server:
            seconds = sweep(server, data, tempfile.mkdtemp(dir=folder), n, launcher)
            counters = server.counters
        results[label] = (seconds, counters.requests, counters.duplicates)
        print(f"{label:<26} {seconds:6.1f} s  {counters.requests:5d} requests  {counters.duplicates} paid twice")
    sequential, concurrent = results["one after another"][0], results["at once (joblib, 3 jobs)"][0]
    print(f"at once / one after another: {concurrent / sequential:.2f} of the wall time, "
          f"{n} distinct prompts")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 600)
