"""Pipelines shared by the runner tests and run as scripts by the kill/interrupt tests."""

from __future__ import annotations

import sys

from synthgen import Pipeline, StepResources
from synthgen.testing.steps import AddColumn, GenerateNumbers, SumAll


def chain(cache_dir: str, count: int = 200, delay: float = 0.0, count_dir: str | None = None,
          factor: int = 2, replicas: int = 1) -> Pipeline:
    """generator >> add(a) >> add(b) >> global sum >> add(c)."""
    with Pipeline(name="chain", cache_dir=cache_dir) as p:
        gen = GenerateNumbers(name="gen", count=count, batch_size=20)
        a = AddColumn(name="a", factor=factor, output="a", delay=delay, count_dir=count_dir,
                      resources=StepResources(replicas=replicas), input_batch_size=15)
        b = AddColumn(name="b", source="a", output="b", offset=1, delay=delay, count_dir=count_dir)
        total = SumAll(name="total", count_dir=count_dir, delay=delay)
        c = AddColumn(name="c", source="total", output="c", count_dir=count_dir)
        gen >> a >> b >> total >> c
    return p


if __name__ == "__main__":  # used by the kill -9 / Ctrl+C tests: run the chain and print row count
    dist = chain(sys.argv[1], count=int(sys.argv[2]), delay=float(sys.argv[3]), count_dir=sys.argv[4]).run()
    print("ROWS", len(dist["default"]["train"]))
