"""An LLM pipeline run as a script by the Ctrl+C and disk-full tests: ``python -m tests.runner.llm_pipeline
CACHE BASE_URL ROWS CONCURRENCY [NAME [FIRST]]``; prints ``ROWS n`` when it finishes."""

from __future__ import annotations

import sys

from synthgen import Pipeline
from synthgen.llms import OpenAILLM
from synthgen.steps import LoadDataFromDicts
from synthgen.tasks import TextGeneration


def prompts(first: int, rows: int) -> list[dict[str, str]]:
    return [{"instruction": f"question {i} " + "x" * 40} for i in range(first, first + rows)]


def generation(cache: str, base_url: str, rows: int, concurrency: int, name: str = "llm-rows",
               first: int = 0) -> Pipeline:
    with Pipeline(name=name, cache_dir=cache) as p:
        load = LoadDataFromDicts(name="load", data=prompts(first, rows))
        gen = TextGeneration(name="gen", llm=OpenAILLM(model="m", base_url=base_url, max_concurrency=concurrency))
        load >> gen
    return p


if __name__ == "__main__":
    cache, url, n, concurrency = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    name = sys.argv[5] if len(sys.argv) > 5 else "llm-rows"
    first = int(sys.argv[6]) if len(sys.argv) > 6 else 0
    print("ROWS", len(generation(cache, url, n, concurrency, name, first).run()["default"]["train"]), flush=True)
