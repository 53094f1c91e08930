"""A multirun sweep's jobs at once against one after another, over one cache: what a user gets from
``python -m synthgen -m hydra/launcher=joblib ...`` compared with Hydra's default (sequential) launcher.

Two sweeps of three jobs over one input file of N prompts:
- ``num_rows=N/3,2N/3,N``: the jobs overlap (the N job needs the others' rows). Both ways must send N
  requests, each distinct prompt once; at once, the jobs wait on each other's leases instead of paying twice.
- ``llm.generation_kwargs.temperature=0.2,0.5,0.8`` over N/3 rows: distinct requests per job (N in all),
  where running the jobs at once multiplies the requests in flight against the server.

Run: ``python benchmarks/concurrent_sweep.py [N]`` (default 3,000). Needs the dev extra (the joblib launcher).
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


SWEEPS = {
    "nested num_rows": lambda n: [f"num_rows={n // 3},{2 * n // 3},{n}"],
    "temperatures": lambda n: [f"num_rows={n // 3}", "llm.generation_kwargs.temperature=0.2,0.5,0.8"],
}


def sweep(server: ServerProcess, data: str, cache: str, values: list[str], launcher: list[str]) -> float:
    args = [sys.executable, "-m", "synthgen", "-m", *launcher, "pipeline=text_generation",
            "llm=openai_compatible", f"llm.base_url={server.base_url}", "llm.model=bench", "llm.max_concurrency=64",
            f"pipeline.steps.load.data_files={data}", *values]
    env = {**os.environ, "SYNTHGEN_CACHE_DIR": cache, "SYNTHGEN_LOG_LEVEL": "WARNING", "OPENAI_API_KEY": "bench"}
    start = time.perf_counter()
    subprocess.run(args, cwd=tempfile.mkdtemp(), env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def main(n: int) -> None:
    folder = tempfile.mkdtemp()
    data = os.path.join(folder, "prompts.jsonl")
    with open(data, "w") as fh:
        fh.writelines(json.dumps({"instruction": f"Write about topic {i}."}) + "\n" for i in range(n))
    for name, values in SWEEPS.items():
        walls = {}
        for label, launcher in (("one after another", []),
                                ("at once (joblib, 3 jobs)", ["hydra/launcher=joblib", "hydra.launcher.n_jobs=3"])):
            with ServerProcess(latency=LATENCY) as server:
                walls[label] = sweep(server, data, tempfile.mkdtemp(dir=folder), values(n), launcher)
                counters = server.counters
            print(f"{name:<16} {label:<26} {walls[label]:6.1f} s  {counters.requests:5d} requests  "
                  f"{counters.duplicates} paid twice")
        print(f"{name:<16} at once / one after another: {walls['at once (joblib, 3 jobs)'] / walls['one after another']:.2f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3000)
