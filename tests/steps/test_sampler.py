"""DataSampler: seeded rows of examples, column by column, resumable."""

from __future__ import annotations

import pytest

from synthgen.errors import ConfigError
from synthgen.steps.sampler import DataSampler

DATA = [{"q": f"q{i}", "a": f"a{i}"} for i in range(6)]


def test_rows_hold_size_examples_column_by_column() -> None:
    sampler = DataSampler(data=DATA, size=3, samples=5, batch_size=2)
    batches = list(sampler.process())
    assert [(len(rows), last) for rows, last in batches] == [(2, False), (2, False), (1, True)]
    row = batches[0][0][0]
    assert set(row) == {"q", "a"} and len(row["q"]) == 3 == len(set(row["q"]))
    assert [q.replace("q", "a") for q in row["q"]] == row["a"], "the columns of one example stay together"


def test_the_rows_do_not_depend_on_the_batch_size_and_a_resume_continues() -> None:
    whole = [r for rows, _ in DataSampler(data=DATA, samples=7, batch_size=7).process() for r in rows]
    small = [r for rows, _ in DataSampler(data=DATA, samples=7, batch_size=2).process() for r in rows]
    resumed = [r for rows, _ in DataSampler(data=DATA, samples=7, batch_size=2).process(offset=4) for r in rows]
    assert whole == small and resumed == whole[4:]
    assert whole != [r for rows, _ in DataSampler(data=DATA, samples=7, seed=1).process() for r in rows]


def test_size_larger_than_the_data_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="size 7 is more than the 6 examples"):
        DataSampler(data=DATA, size=7)
