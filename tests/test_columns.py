"""Batches as columns (synthgen.columns): pieces, manifests, and when a column counts as unchanged."""

from __future__ import annotations

import pyarrow as pa
import pytest

from synthgen.columns import (
    column_bytes,
    manifest_bytes,
    parse_manifest,
    read_column,
    slice_pieces,
    unchanged,
)
from synthgen.values import ENCODING_KEY, TAGGED_JSON


def test_slicing_pieces_keeps_the_rows_in_their_column_objects() -> None:
    pieces = [("a", 0, 10), ("b", 5, 15)]  # 20 rows: a[0:10] then b[5:15]
    assert slice_pieces(pieces, 0, 10) == [("a", 0, 10)]
    assert slice_pieces(pieces, 8, 12) == [("a", 8, 10), ("b", 5, 7)]
    assert slice_pieces(pieces, 15, 20) == [("b", 10, 15)]
    assert slice_pieces(pieces, 20, 20) == []


def test_a_manifest_reads_back_and_one_whose_columns_miss_rows_is_refused() -> None:
    columns = {"n": [("a", 0, 3)], "t": [("b", 0, 1), ("c", 4, 6)]}
    assert parse_manifest(manifest_bytes(3, columns)) == (3, columns)
    with pytest.raises(ValueError, match="does not hold 4 rows"):
        parse_manifest(manifest_bytes(4, columns))


def test_a_column_object_keeps_its_field_metadata_and_is_compressed() -> None:
    field = pa.field("x", pa.string(), metadata={ENCODING_KEY: TAGGED_JSON})
    array = pa.array(["word " * 40] * 1000)
    data = column_bytes(array, field)
    column, stored = read_column(data)
    assert column.to_pylist() == array.to_pylist() and stored.metadata == {ENCODING_KEY: TAGGED_JSON}
    assert len(data) < array.nbytes / 10


def test_a_flat_column_is_unchanged_when_it_holds_the_inputs_own_values() -> None:
    texts = ["x" * 10, "y" * 10]
    assert unchanged(list(texts), texts, pa.field("c", pa.string()))
    assert not unchanged(list(texts), None, pa.field("c", pa.string()))  # no input column of that name
    assert not unchanged(texts[:1], texts, pa.field("c", pa.string()))  # rows dropped


def test_equal_values_that_are_other_objects_are_stored_again() -> None:
    ints = [10**6 + i for i in range(3)]
    assert not unchanged([float(v) for v in ints], ints, pa.field("c", pa.int64()))  # 1.0 == 1, not an int
    assert not unchanged([int(str(v)) for v in ints], ints, pa.field("c", pa.int64()))


def test_a_nested_column_may_have_been_changed_in_place_so_it_is_stored_again() -> None:
    lists = [[1], [2]]
    lists[0].append(3)  # the same objects as the input's, yet not the stored values any more
    assert not unchanged(lists, lists, pa.field("c", pa.list_(pa.int64())))


def test_a_tagged_json_column_is_never_taken_as_unchanged() -> None:
    values = ["a", "b"]
    field = pa.field("c", pa.string(), metadata={ENCODING_KEY: TAGGED_JSON})
    assert not unchanged(values, values, field)
