"""A pipeline whose task submits offline batch jobs, for the offline tests; run as a script it exits
as the CLI does (3 while jobs are pending)."""

from __future__ import annotations

import sys
from typing import Any

from synthgen import Pipeline, StepInput, step
from synthgen.llms import AnthropicLLM, OpenAILLM
from synthgen.steps import LoadDataFromDicts
from synthgen.tasks import TextGeneration

BACKENDS = {"openai": OpenAILLM, "anthropic": AnthropicLLM}


@step(inputs=["generation"], outputs=["length"])
def Length(inputs: StepInput):  # type: ignore[no-untyped-def]
    """Downstream of the offline task: proves the pipeline carries on once the jobs are collected."""
    yield [{**row, "length": len(row["generation"]) if row["generation"] else None} for row in inputs]


def build(cache_dir: str, backend: str, url: str, rows: int = 12, **llm_kwargs: Any) -> Pipeline:
    llm_kwargs.setdefault("use_offline_batch_generation", True)
    with Pipeline(name="offline-demo", cache_dir=cache_dir) as pipeline:
        load = LoadDataFromDicts(data=[{"instruction": f"say {i}"} for i in range(rows)], batch_size=5)
        llm = BACKENDS[backend](model="m", base_url=url, api_key="k", **llm_kwargs)
        load >> TextGeneration(name="gen", llm=llm) >> Length(name="length")
    return pipeline


def main(argv: list[str]) -> int:
    """``python -m tests.llms.offline_pipeline CACHE BACKEND URL ROWS [MAX_REQUESTS] [BLOCK_SECONDS]``."""
    from synthgen.config import failures

    cache_dir, backend, url, rows, *rest = argv
    kwargs: dict[str, Any] = {}
    if rest and rest[0] != "-":
        kwargs["offline_batch_max_requests"] = int(rest[0])
    if len(rest) > 1:
        kwargs["offline_batch_generation_block_until_done"] = float(rest[1])
    try:
        build(cache_dir, backend, url, int(rows), **kwargs).run()
    except Exception as exc:  # noqa: BLE001 - reported like the CLI does
        return failures.report(exc)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
