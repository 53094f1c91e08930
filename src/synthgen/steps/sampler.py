"""``DataSampler``: rows of random samples of a list of examples (few-shot examples for a prompt)."""

from __future__ import annotations

import random
from typing import Any

from pydantic import Field, model_validator

from synthgen.errors import ConfigError
from synthgen.steps.base import GeneratorStep, GeneratorStepOutput, Row


class DataSampler(GeneratorStep):
    """Emit ``samples`` rows, each holding ``size`` examples drawn from ``data`` without replacement.

    A row has one column per key of the examples, holding the ``size`` values in draw order. Row ``i``
    draws with a generator seeded by ``(seed, i)``: the same rows on every run, whatever the batch size,
    and a resumed run continues where it stopped.

    Args:
        data: the examples (dicts with the same keys).
        size: examples per row.
        samples: rows to emit.
        seed: seeds the draws.

    Output columns: the keys of ``data``.
    """

    data: list[dict[str, Any]] = Field(min_length=1)
    size: int = Field(default=2, ge=1)
    samples: int = Field(default=100, ge=1)
    seed: int = 42

    @model_validator(mode="after")
    def _enough_data(self) -> DataSampler:
        if self.size > len(self.data):
            raise ConfigError(f"DataSampler: size {self.size} is more than the {len(self.data)} examples in data; "
                              "lower size or add examples")
        return self

    @property
    def outputs(self) -> list[str]:
        return list(dict.fromkeys(key for row in self.data for key in row))

    def sample(self, index: int) -> Row:
        """Row ``index``: ``size`` examples, column by column."""
        drawn = random.Random(f"{self.seed}:{index}").sample(self.data, self.size)
        return {column: [example.get(column) for example in drawn] for column in self.outputs}

    def process(self, offset: int = 0) -> GeneratorStepOutput:
        if offset >= self.samples:
            yield [], True
        for start in range(offset, self.samples, self.batch_size):
            stop = min(start + self.batch_size, self.samples)
            yield [self.sample(i) for i in range(start, stop)], stop == self.samples
