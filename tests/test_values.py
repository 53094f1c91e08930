"""Values come back as they went in — types, ``None``, nested values — between steps and in the
Distiset, or the batch fails with an error naming the column and the type."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from synthgen import Pipeline
from synthgen.distiset import Distiset
from synthgen.steps.columns import KeepColumns
from synthgen.steps.loaders.dicts import LoadDataFromDicts
from synthgen.store import Store
from synthgen.values import ValueEncodingError, decode_text, encoded_columns, rows_to_table, table_to_rows


def typed(value: Any) -> Any:
    """``value`` with its type spelled out all the way down, so ``==`` compares types too (NaN = NaN)."""
    if isinstance(value, float) and math.isnan(value):
        return ("float", "nan")
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, [typed(v) for v in value])
    if isinstance(value, dict):
        return ("dict", sorted(((repr(typed(k)), typed(v)) for k, v in value.items()), key=repr))
    return (type(value).__name__, value)


def assert_same_rows(got: list[dict[str, Any]], expected: list[dict[str, Any]]) -> None:
    assert [typed(r) for r in got] == [typed(r) for r in expected]


@pytest.mark.parametrize("values", [
    [0, 1, 2, 3, "s4"],                         # ints mixed with text: no "0", "\"s4\""
    [None, 1, None],                            # None stays None, ints stay ints
    [1, 2.5],                                   # Arrow would make 1 a float
    [{"a": 1}, {"b": 2}],                       # Arrow would give each dict the other's key as None
    [b"x", "y"],                                # Arrow would make "y" bytes
    [2**80, -(2**70)],                          # beyond int64
    [(1, "a"), [1, "a"]],                       # a tuple stays a tuple
    [("", b"\x80")],                            # Arrow would put the bytes into a string column
    [{}, {"a": [{}]}],                          # Parquet cannot write a struct without fields
    [{1: "one", (2, 3): None}],                 # non-string keys
    [float("nan"), float("inf"), -0.0],
    ["\udc80", "a\ud800b"],                      # lone surrogates, kept losslessly
])
def test_values_arrow_cannot_keep_come_back_exactly(values: list[Any]) -> None:
    rows = [{"col": v} for v in values]
    assert_same_rows(table_to_rows(rows_to_table(rows)), rows)


def test_plain_columns_stay_typed_arrow_columns() -> None:
    table = rows_to_table([{"i": 1, "s": "a", "f": 1.5, "d": {"k": [1, 2]}, "n": None}])
    assert encoded_columns(table.schema) == []
    assert table.schema.field("i").type == pa.int64() and table.schema.field("d").type.num_fields == 1


def test_only_the_columns_that_need_it_are_tagged_json() -> None:
    table = rows_to_table([{"ok": 1, "mixed": 1}, {"ok": 2, "mixed": "two"}])
    assert encoded_columns(table.schema) == ["mixed"]
    assert table.column("mixed").to_pylist() == ["1", '"two"']


@pytest.mark.parametrize(("value", "type_name"), [(object(), "builtins.object"), ({1, 2}, "builtins.set"),
                                                  (bytearray(b"x"), "builtins.bytearray")])
def test_an_arbitrary_object_fails_the_batch_naming_column_and_type(value: Any, type_name: str) -> None:
    with pytest.raises(ValueEncodingError, match=rf"column .thing. holds a value of type {type_name} \(row 0 of the batch\), which the cache "
                                                 "cannot store as data"):
        rows_to_table([{"thing": value}, {"thing": 1}])


@pytest.mark.parametrize("text", ["{", '{"$eval": "x"}', '{"$bytes": "!!"}', '{"$float": "zero"}',
                                  '{"$dict": [1], "$tuple": []}', "[" * 100_000])
def test_text_that_is_not_the_encoding_is_refused(text: str) -> None:
    with pytest.raises(ValueEncodingError, match="column 'c' holds a value that is not synthgen's tagged JSON"):
        decode_text("c", text)


# ---- property: any mix of values round-trips -------------------------------------------------------
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**100), max_value=2**100),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=8), st.binary(max_size=8),
    st.sampled_from(["\udc80", "é✓", ""]),
)
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.tuples(inner, inner),
    st.dictionaries(st.text(max_size=4), inner, max_size=3)), max_leaves=8)
COLUMNS = ("a", "b", "c")
row_lists = st.lists(st.fixed_dictionaries({c: values for c in COLUMNS}), min_size=1, max_size=8)


@settings(max_examples=150, deadline=None)
@given(rows=row_lists)
def test_any_rows_round_trip_through_the_store(rows: list[dict[str, Any]], tmp_path_factory: Any) -> None:
    store = Store(tmp_path_factory.getbasetemp() / "store")
    digest, n = store.put_rows(rows)
    assert n == len(rows)
    assert_same_rows(store.get_rows(digest), rows)


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=row_lists)
def test_any_rows_round_trip_through_a_pipeline_and_the_saved_distiset(rows: list[dict[str, Any]],
                                                                        tmp_path: Path) -> None:
    with Pipeline(name="values", cache_dir=tmp_path / "cache") as p:
        load = LoadDataFromDicts(name="load", data=rows, batch_size=3)
        keep = KeepColumns(name="keep", columns=list(COLUMNS), input_batch_size=2)
        load >> keep >> KeepColumns(name="again", columns=list(COLUMNS))
    distiset = p.run()
    assert_same_rows(list(distiset["default"]["train"]), rows)
    assert_same_rows(distiset["default"]["train"].to_list(), rows)
    saved = tmp_path / f"saved-{abs(hash(repr(typed(rows))))}"
    distiset.save_to_disk(saved)
    loaded = Distiset.load_from_disk(saved)["default"]["train"]
    assert_same_rows(list(loaded), rows)
    assert_same_rows(loaded.to_list(), rows)


def test_batches_typed_differently_are_joined_without_changing_a_value() -> None:
    from synthgen.values import concat_tables

    first = rows_to_table([{"x": 1, "y": None, "z": 1.5}])
    second = rows_to_table([{"x": "b", "y": 3, "z": 2}])
    joined = concat_tables([first, second])
    assert_same_rows(table_to_rows(joined), [{"x": 1, "y": None, "z": 1.5}, {"x": "b", "y": 3, "z": 2}])
    assert joined.schema.field("y").type == pa.int64()  # a null column only becomes typed
