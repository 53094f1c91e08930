from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from synthgen.steps.loaders._batching import batches_with_last, columns_to_rows, limit_rows


@given(n_rows=st.integers(min_value=0, max_value=60), batch_size=st.integers(min_value=1, max_value=17))
def test_batches_cover_the_rows_in_order_and_only_the_final_one_is_last(n_rows: int, batch_size: int) -> None:
    rows = [{"i": i} for i in range(n_rows)]
    batches = list(batches_with_last(iter(rows), batch_size))
    assert [row for batch, _ in batches for row in batch] == rows
    assert [last for _, last in batches] == [False] * (len(batches) - 1) + [True]
    assert all(len(batch) == batch_size for batch, _ in batches[:-1])
    assert 0 < len(batches[-1][0]) <= batch_size or n_rows == 0


def test_batches_are_produced_lazily() -> None:
    pulled: list[int] = []

    def rows():
        for i in range(100):
            pulled.append(i)
            yield {"i": i}

    first, last = next(batches_with_last(rows(), 10))
    assert (len(first), last) == (10, False)
    assert len(pulled) <= 20  # the current batch and the one held back to know it is not last


def test_limit_rows_applies_offset_and_limit() -> None:
    rows = [{"i": i} for i in range(10)]
    assert [r["i"] for r in limit_rows(rows, 2, 5)] == [2, 3, 4]
    assert list(limit_rows(rows, 6, 5)) == []
    assert len(list(limit_rows(rows, 0, None))) == 10


def test_columns_to_rows() -> None:
    assert columns_to_rows({"a": [1, 2], "b": [3, 4]}) == [{"a": 1, "b": 3}, {"a": 2, "b": 4}]
    assert columns_to_rows({}) == []
