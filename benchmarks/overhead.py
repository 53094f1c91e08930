"""Runner overhead: a generator and three trivial row-wise steps over 100k and 1M rows, against the
same three functions in a plain loop in one process, measured in the same run.

Target (issue 2): at 1M rows the ratio pipeline/plain-loop is at most 5, and peak RSS at 1M rows is at
most 1.5x that at 100k. Run: ``make bench`` or ``python benchmarks/overhead.py [sizes...]``.
"""

from __future__ import annotations

import sys
import tempfile

from _common import peak_rss, timed
from plain_loop import f1, f2, f3  # the same row functions as scale.py's baseline

from synthgen import GeneratorStep, Pipeline, Step, StepInput, StepOutput
from synthgen.steps.base import GeneratorStepOutput

BATCH = 10_000


class Numbers(GeneratorStep):
    count: int = 0

    @property
    def outputs(self) -> list[str]:
        return ["n"]

    def process(self, offset: int = 0) -> GeneratorStepOutput:
        for start in range(0, self.count, self.batch_size):
            stop = min(self.count, start + self.batch_size)
            yield [{"n": i} for i in range(start, stop)], stop >= self.count


class Apply(Step):
    fn: str = "f1"

    def process(self, *inputs: StepInput) -> StepOutput:
        # Named through FUNCTIONS, not globals(): run as a script, this class reaches the workers by value
        # with the globals its code names, and globals() there holds only those.
        fn = FUNCTIONS[self.fn]
        yield [fn(r) for r in inputs[0]]


def slow(row: dict, loops: int = 300) -> dict:
    """A step with real per-row cost (about 20 µs), standing in for work worth resuming."""
    x = 0
    for i in range(loops):
        x += i * row["a"]
    return {**row, "b": x}


def slower(row: dict) -> dict:
    """About 100 µs a row: work that dominates a run's fixed start-up (the kill-and-resume benchmark)."""
    return slow(row, loops=1_500)


FUNCTIONS = {f.__name__: f for f in (f1, f2, f3, slow, slower)}


def plain_loop(n: int) -> int:
    out = [f3(f2(f1({"n": i}))) for i in range(n)]
    return len(out)


def pipeline_run(n: int, cache: str) -> int:
    with Pipeline(name=f"overhead-{n}", cache_dir=cache) as p:
        gen = Numbers(count=n, batch_size=BATCH)
        gen >> Apply(fn="f1", input_batch_size=BATCH) >> Apply(fn="f2", input_batch_size=BATCH) \
            >> Apply(fn="f3", input_batch_size=BATCH)
    return len(p.run()["default"]["train"])


def main(sizes: list[int]) -> None:
    peaks = {}
    print(f"{'rows':>9} {'plain rows/s':>13} {'pipeline rows/s':>16} {'ratio':>6} {'peak RSS MB':>12}")
    for n in sizes:
        plain_s, _ = timed(lambda n=n: plain_loop(n))
        with tempfile.TemporaryDirectory() as cache, peak_rss() as mem:
            pipe_s, rows = timed(lambda n=n, cache=cache: pipeline_run(n, cache))
        assert rows == n
        peaks[n] = mem["peak_mb"]
        print(f"{n:>9,} {n / plain_s:>13,.0f} {n / pipe_s:>16,.0f} {pipe_s / plain_s:>6.1f} {mem['peak_mb']:>12,.0f}")
    if len(sizes) > 1:
        print(f"peak RSS ratio {sizes[-1]:,} / {sizes[0]:,} rows: {peaks[sizes[-1]] / peaks[sizes[0]]:.2f}")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [100_000, 1_000_000])
