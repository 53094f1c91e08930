"""A pipeline with a slow CPU step, run as a script by the batch-lease tests: ``python -m
tests.runner.shared_step_pipeline CACHE NAME COUNT_DIR DELAY START``; it starts its run at the time
``START`` (so that two drivers miss the cache together) and prints ``ROWS n`` when it finishes."""

from __future__ import annotations

import sys
import time

from synthgen import Pipeline
from synthgen.testing.steps import AddColumn, GenerateNumbers

ROWS, BATCH = 120, 15  # step ``slow``: 8 batches


def shared_step(cache: str, name: str, count_dir: str | None = None, delay: float = 0.0) -> Pipeline:
    """Pipelines of different names with the same steps: their batch keys are the same."""
    with Pipeline(name=name, cache_dir=cache) as p:
        numbers = GenerateNumbers(name="numbers", count=ROWS, batch_size=20)
        slow = AddColumn(name="slow", factor=3, output="tripled", delay=delay, count_dir=count_dir,
                         input_batch_size=BATCH)
        numbers >> slow
    return p


if __name__ == "__main__":
    cache, name, counts, delay, start = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]), float(sys.argv[5])
    pipeline = shared_step(cache, name, counts, delay)
    time.sleep(max(0.0, start - time.time()))
    print("ROWS", len(pipeline.run()["default"]["train"]), flush=True)
