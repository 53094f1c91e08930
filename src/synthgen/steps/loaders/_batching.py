"""Shared helpers for loaders: cutting a row stream into ``(batch, last_batch)`` pairs."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from typing import Any

from synthgen.steps.base import GeneratorStepOutput, Row


def batches_with_last(rows: Iterable[Row], batch_size: int) -> GeneratorStepOutput:
    """Yield ``(batch, last_batch)`` from a row stream, holding one batch back to know which is last.

    An empty stream yields one ``([], True)`` so that the runner still learns the source has finished.
    """
    iterator = iter(rows)
    pending = list(itertools.islice(iterator, batch_size))
    while True:
        following = list(itertools.islice(iterator, batch_size))
        if not following:
            yield pending, True
            return
        yield pending, False
        pending = following


def limit_rows(rows: Iterable[Row], offset: int, limit: int | None) -> Iterator[Row]:
    """Rows ``offset`` up to ``limit`` (exclusive, counted from the start of the stream)."""
    if limit is not None and offset >= limit:
        return iter(())
    return itertools.islice(rows, offset, limit)


def columns_to_rows(batch: dict[str, list[Any]]) -> list[Row]:
    """``{"a": [1, 2], "b": [3, 4]}`` -> ``[{"a": 1, "b": 3}, {"a": 2, "b": 4}]``."""
    names = list(batch)
    return [dict(zip(names, values, strict=True)) for values in zip(*(batch[n] for n in names), strict=True)]


def dataset_rows(dataset: Any, offset: int = 0, limit: int | None = None, chunk: int = 1000) -> Iterator[Row]:
    """Rows of a ``datasets.Dataset`` or ``IterableDataset`` from ``offset``, reading ``chunk`` rows at a time."""
    if hasattr(dataset, "__len__"):
        end = len(dataset) if limit is None else min(len(dataset), limit)
        if offset >= end:
            return
        # select() on a contiguous range is a zero-copy slice of the memory-mapped table.
        for batch in dataset.select(range(offset, end)).iter(batch_size=chunk):
            yield from columns_to_rows(batch)
        return
    yield from limit_rows(iter(dataset), offset, limit)
