"""The Ray executor against the local runner, in the same run: the overhead pipeline (generator and
three trivial row-wise steps, benchmarks/overhead.py) and the LLM throughput pipeline (one
TextGeneration against the OpenAI test server, benchmarks/llm_throughput.py) on a local Ray instance.

Run: ``python benchmarks/ray_vs_local.py [overhead_rows] [llm_rows]`` (default 1,000,000 and 5,000).
Needs ray (``pip install 'synthgen[ray]'``).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

sys.path.insert(0, os.path.dirname(__file__))

from _common import ServerProcess  # noqa: E402
from llm_throughput import BATCH as LLM_BATCH  # noqa: E402
from llm_throughput import CONCURRENCY, LATENCY, rows  # noqa: E402
from overhead import BATCH, Apply, Numbers  # noqa: E402

from synthgen import Pipeline  # noqa: E402
from synthgen.llms import OpenAILLM  # noqa: E402
from synthgen.tasks import TextGeneration  # noqa: E402


def overhead(n: int, runner: str) -> int:
    with tempfile.TemporaryDirectory() as cache:
        with Pipeline(name=f"overhead-{n}", cache_dir=cache) as p:
            Numbers(count=n, batch_size=BATCH) >> Apply(fn="f1", input_batch_size=BATCH) \
                >> Apply(fn="f2", input_batch_size=BATCH) >> Apply(fn="f3", input_batch_size=BATCH)
        return len(p.run(runner=runner)["default"]["train"])


def llm(server: ServerProcess, n: int, runner: str) -> int:
    with tempfile.TemporaryDirectory() as cache:
        with Pipeline("llm-throughput", cache_dir=cache) as p:
            TextGeneration(name="gen", input_batch_size=LLM_BATCH, add_raw_input=False,
                           llm=OpenAILLM(model="bench", base_url=server.base_url, api_key="bench",
                                         max_concurrency=CONCURRENCY, max_retries=10))
        return len(p.run(dataset=rows(n), runner=runner)["default"]["train"])


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def main(n_overhead: int, n_llm: int) -> None:
    import ray

    ray.init(num_cpus=os.cpu_count(), include_dashboard=False, log_to_driver=False)
    print(f"ray {ray.__version__}, {os.cpu_count()} CPUs")
    print(f"{'pipeline':<22} {'rows':>9} {'local rows/s':>13} {'ray rows/s':>11} {'ray/local time':>15}")
    n = n_overhead
    local_s, got = timed(lambda: overhead(n, "local"))
    assert got == n
    ray_s, got = timed(lambda: overhead(n, "ray"))
    assert got == n
    print(f"{'overhead':<22} {n:>9,} {n / local_s:>13,.0f} {n / ray_s:>11,.0f} {ray_s / local_s:>15.2f}")
    with ServerProcess(latency=LATENCY) as server:
        local_s, got = timed(lambda: llm(server, n_llm, "local"))
        assert got == n_llm
        ray_s, got = timed(lambda: llm(server, n_llm, "ray"))
        assert got == n_llm
    print(f"{'llm (latency 0.2 s)':<22} {n_llm:>9,} {n_llm / local_s:>13,.0f} {n_llm / ray_s:>11,.0f} "
          f"{ray_s / local_s:>15.2f}")
    ray.shutdown()


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:]]
    main(args[0] if args else 1_000_000, args[1] if len(args) > 1 else 5_000)
