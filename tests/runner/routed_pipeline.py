"""A routed pipeline shared by the routing tests, and run in a process of its own by the kill -9 test:
``python -c "import sys; from tests.runner.routed_pipeline import main; main(sys.argv[1:])" CACHE
COUNT_DIR ROUTER DELAY``; prints ``ROWS n``."""

from __future__ import annotations

import random
import sys
from pathlib import Path

from synthgen import Pipeline
from synthgen.pipeline import RoutingBatchFunction, routing_batch_function, sample_n_steps
from synthgen.steps import CombineColumns
from synthgen.testing.steps import AddColumn, GenerateNumbers

FACTORS = (1, 10, 100)
COUNT, BATCH = 100, 5
STEP_OF_FACTOR = {1: "add1", 10: "add10", 11: "add10", 100: "add100"}  # 11: add10 changed by a test


def log_path(count_dir: str) -> Path:
    return Path(count_dir) / "routing.log"


def unseeded_router(count_dir: str) -> RoutingBatchFunction:
    """Two of the steps, from the global (unseeded) random generator; each decision is logged."""
    @routing_batch_function
    def two_at_random(steps: list[str]) -> list[str]:
        chosen = random.sample(steps, 2)
        with open(log_path(count_dir), "a") as fh:
            fh.write(" ".join(sorted(chosen)) + "\n")
        return chosen

    return two_at_random


def routed(cache: str, count_dir: str | None = None, router: str = "sample", delay: float = 0.0,
           factors: tuple[int, ...] = FACTORS) -> Pipeline:
    """gen (batches of 5) >> router (2 of 3) >> add1, add10, add100 (x = n * factor) >> combine (xs)."""
    with Pipeline(name="routed", cache_dir=cache) as p:
        gen = GenerateNumbers(name="gen", count=COUNT, batch_size=BATCH)
        adds = [AddColumn(name=f"add{f}", factor=factor, output="x", input_batch_size=2, delay=delay,
                          count_dir=count_dir) for f, factor in zip(FACTORS, factors, strict=True)]
        combine = CombineColumns(name="combine", columns=["x"], output_columns=["xs"])
        choose = sample_n_steps(2) if router == "sample" else unseeded_router(str(count_dir))
        gen >> choose >> adds >> combine
    return p


def routes_of(rows: list[dict]) -> list[str]:
    """Per batch of the generator, the steps its rows went to (read back from the factors in ``xs``)."""
    out = []
    for start in range(0, len(rows), BATCH):
        batch = rows[start:start + BATCH]
        seen = {" ".join(sorted(STEP_OF_FACTOR[x // r["n"]] for x in r["xs"])) for r in batch if r["n"]}
        assert len(seen) == 1, f"rows of one batch went different ways: {seen}"
        out.append(seen.pop())
    return out


def main(argv: list[str]) -> None:
    """Run from ``-c`` (not ``-m``): the routing function's module must be this one, as in the tests,
    or its name, part of the pipeline's signature, would be ``__main__.…``."""
    cache, counts, router, delay = argv[0], argv[1], argv[2], float(argv[3])
    dist = routed(cache, counts, router, delay).run()
    print("ROWS", len(dist["default"]["train"]), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
