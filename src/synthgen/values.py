"""Rows as Arrow tables and back, with the same Python values and types: the store's value encoding.

A column is stored as an Arrow-typed column when Arrow gives every value back exactly as it went in
(same type, ``None`` where it was ``None``, a dict with the same keys). Any other column (ints mixed
with strings, ints beyond 64 bits, dicts with different keys in different rows, tuples, lone
surrogates in text, ...) is stored as *tagged JSON*: one ASCII JSON text per value, the column's field
marked ``synthgen.encoding: tagged-json-1``. JSON null, booleans, numbers, strings and arrays stand for
themselves; every JSON object is a tag with one key:

- ``{"$dict": {"k": v, ...}}``: a dict with string keys; ``{"$pairs": [[k, v], ...]}``: other keys
- ``{"$tuple": [...]}``, ``{"$bytes": "<base64>"}``, ``{"$float": "nan" | "inf" | "-inf"}``

Decoding only ever builds these data types: nothing read from the cache is executed or unpickled. A
value none of them can hold (an arbitrary object) fails the batch with :class:`ValueEncodingError`
naming its column and type. NumPy scalars and arrays come back as the Python scalars and lists of the
same values. Documented in ``docs/caching.md``.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Iterable
from itertools import chain, repeat
from typing import Any

import pyarrow as pa

from synthgen.errors import SynthgenError

ENCODING_KEY = b"synthgen.encoding"
TAGGED_JSON = b"tagged-json-1"
EMPTY_COLUMN = "__empty__"
_ARROW_REFUSED = (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, TypeError, OverflowError,
                  ValueError)  # UnicodeEncodeError (a lone surrogate) is a ValueError
_FLAT_TYPES: dict[pa.DataType, frozenset[type]] = {
    pa.string(): frozenset({str}), pa.int64(): frozenset({int}), pa.float64(): frozenset({float}),
    pa.bool_(): frozenset({bool}), pa.binary(): frozenset({bytes}), pa.null(): frozenset(),
}
_FLOAT_NAMES = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


class ValueEncodingError(SynthgenError):
    """A value cannot be stored losslessly, or a stored value is not in the documented encoding."""


# ---- rows <-> table -------------------------------------------------------------------------
def rows_to_table(rows: list[dict[str, Any]]) -> pa.Table:
    """Rows as an Arrow table over the union of their columns (a row without a column gets ``None``).

    Raises:
        ValueEncodingError: a value that no encoding holds (names the column and the type).
    """
    names = dict.fromkeys(chain.from_iterable(rows))  # every row's keys in order of first appearance, in C
    if not names:
        return pa.table({EMPTY_COLUMN: pa.nulls(len(rows))})
    fields, arrays = [], []
    for name in names:
        array, encoded = column_array(name, list(map(dict.get, rows, repeat(name))))
        fields.append(pa.field(name, array.type, metadata={ENCODING_KEY: TAGGED_JSON} if encoded else None))
        arrays.append(array)
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def column_array(name: str, values: list[Any]) -> tuple[pa.Array, bool]:
    """One column: ``(typed array, False)`` when Arrow keeps every value exactly, else ``(tagged JSON, True)``."""
    try:
        array = pa.array(values)
    except _ARROW_REFUSED:
        return encode_column(name, values), True
    if isinstance(array, pa.ChunkedArray) or not parquet_can_write(array.type) or not faithful(array, values):
        return encode_column(name, values), True
    return array, False


def parquet_can_write(kind: pa.DataType) -> bool:
    """Whether Parquet (the Distiset's files) can hold the type: not a struct without fields (``{}``)."""
    if pa.types.is_struct(kind):
        return kind.num_fields > 0 and all(parquet_can_write(kind.field(i).type) for i in range(kind.num_fields))
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        return parquet_can_write(kind.value_type)
    return True


def faithful(array: pa.Array, values: list[Any]) -> bool:
    """Whether ``array`` gives back exactly ``values`` (a type check per value for flat columns)."""
    kinds = _FLAT_TYPES.get(array.type)
    if kinds is not None and {type(v) for v in values} - {type(None)} <= kinds:
        return True
    try:
        restored = array.to_pylist()
    except ValueError:  # bytes that Arrow took into a string column, unchecked: not valid UTF-8
        return False
    return all(same_value(a, b) for a, b in zip(values, restored, strict=True))


def table_to_rows(table: pa.Table) -> list[dict[str, Any]]:
    """Inverse of :func:`rows_to_table`.

    Raises:
        ValueEncodingError: a tagged-JSON value is not in the documented encoding.
    """
    if EMPTY_COLUMN in table.column_names:
        return [{} for _ in range(table.num_rows)]
    rows: list[dict[str, Any]] = table.to_pylist()
    for name in encoded_columns(table.schema):
        for row in rows:
            row[name] = decode_text(name, row[name])
    return rows


def encoded_columns(schema: pa.Schema) -> list[str]:
    """The columns of ``schema`` stored as tagged JSON."""
    return [f.name for f in schema if (f.metadata or {}).get(ENCODING_KEY) == TAGGED_JSON]


def same_value(original: Any, restored: Any) -> bool:
    """Whether ``restored`` is ``original`` with the same types all the way down (NaN equals NaN)."""
    kind = type(original)
    if original is None:
        return restored is None
    if kind is float:
        return type(restored) is float and (original == restored or (original != original and restored != restored))
    if kind is list:
        return type(restored) is list and len(restored) == len(original) and all(map(same_value, original, restored))
    if kind is dict:
        return (type(restored) is dict and original.keys() == restored.keys()
                and all(same_value(v, restored[k]) for k, v in original.items()))
    if kind.__module__ == "numpy" and hasattr(original, "tolist"):
        return same_value(original.tolist(), restored)
    return type(restored) is kind and bool(original == restored)


# ---- one value ------------------------------------------------------------------------------
def encode_column(name: str, values: Iterable[Any]) -> pa.Array:
    """Tagged-JSON texts of ``values`` (see the module docstring).

    Raises:
        ValueEncodingError: a value no tag holds (the message names the column, the row and the type).
    """
    texts: list[str | None] = []
    for row, value in enumerate(values):
        try:
            texts.append(None if value is None else _dumps(value))
        except _Unencodable as exc:
            raise ValueEncodingError(
                f"column '{name}' holds a value of type {exc.args[0]} (row {row} of the batch), which the cache "
                "cannot store as data: emit None, bool, int, float, str, bytes, list, tuple or dict values "
                "(convert it, e.g. with str() or a dict of its fields)"
            ) from None
    return pa.array(texts, pa.string())


def encode_text(value: Any) -> str:
    """One value as tagged-JSON text (pure ASCII: lone surrogates survive as ``\\udcxx`` escapes).

    Raises:
        ValueEncodingError: a value no tag holds.
    """
    try:
        return _dumps(value)
    except _Unencodable as exc:
        raise ValueEncodingError(f"a value of type {exc.args[0]} cannot be stored as data") from None


def _dumps(value: Any) -> str:
    return json.dumps(_encode(value), ensure_ascii=True, allow_nan=False, separators=(",", ":"))


class _Unencodable(Exception):
    """A value of this type (``args[0]``) has no tag."""


def _encode(value: Any) -> Any:
    kind = type(value)
    if value is None or kind in (bool, int, str):
        return value
    if kind is float:
        return value if math.isfinite(value) else {"$float": repr(value)}
    if kind is list:
        return [_encode(v) for v in value]
    if kind is tuple:
        return {"$tuple": [_encode(v) for v in value]}
    if kind is bytes:
        return {"$bytes": base64.b64encode(value).decode()}
    if kind is dict:
        if all(type(k) is str for k in value):
            return {"$dict": {k: _encode(v) for k, v in value.items()}}
        return {"$pairs": [[_encode(k), _encode(v)] for k, v in value.items()]}
    if kind.__module__ == "numpy" and hasattr(value, "tolist"):
        return _encode(value.tolist())
    raise _Unencodable(f"{kind.__module__}.{kind.__qualname__}")


def decode_text(column: str, text: str | None) -> Any:
    """Inverse of :func:`encode_text` (``None`` stays ``None``).

    Raises:
        ValueEncodingError: ``text`` is not tagged JSON.
    """
    if text is None:
        return None
    try:
        return _decode(json.loads(text))
    except (ValueError, TypeError, KeyError, RecursionError, AttributeError) as exc:
        raise ValueEncodingError(f"column '{column}' holds a value that is not synthgen's tagged JSON "
                                 f"({type(exc).__name__}: {str(exc)[:80]}): the cached object is damaged") from None


def _decode(value: Any) -> Any:
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if not isinstance(value, dict):
        return value
    (tag, inner), = value.items()
    if tag == "$dict":
        return {str(k): _decode(v) for k, v in inner.items()}
    if tag == "$pairs":
        return {_decode(k): _decode(v) for k, v in inner}
    if tag == "$tuple":
        return tuple(_decode(v) for v in inner)
    if tag == "$bytes":
        return base64.b64decode(inner, validate=True)
    if tag == "$float":
        return _FLOAT_NAMES[inner]
    raise ValueError(f"unknown tag {tag!r}")


def concat_tables(tables: list[pa.Table]) -> pa.Table:
    """Concatenate batch tables whose schemas may differ (a column null in one batch, typed in another).

    Only a null column becomes typed; where batches typed a column differently (ints in one, floats or
    mixed values in another) the rows are stored again together, so every value keeps its type
    (:mod:`synthgen.values`).
    """
    tables = [t.drop_columns([EMPTY_COLUMN]) if EMPTY_COLUMN in t.column_names else t
              for t in tables if t.num_rows or t.num_columns]
    if not tables:
        return pa.table({})
    if len({tuple(encoded_columns(t.schema)) for t in tables}) == 1:
        try:
            return pa.concat_tables(tables, promote_options="default")
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
            pass
    return rows_to_table([row for t in tables for row in table_to_rows(t)])


def parquet_bytes(table: pa.Table) -> bytes:
    """``table`` as a Parquet file, as synthgen writes every dataset file (``data/``, checkpoints).

    - One chunk per column: a table concatenated from batches is written as a page per batch, which
      reads 4x slower (100k rows of 1,000-row batches: 56 against 14 ms); combining costs ~1 ms.
    - No dictionary encoding: generated text is nearly all distinct values, for which Arrow builds a
      dictionary, finds it too large and falls back to plain, at 5x the time of plain alone and a
      larger file (100k rows of this project's benchmark: 54 ms and 2.4 MB, against 10 ms and 1.6 MB).
    """
    import pyarrow.parquet as pq  # not on the workers' import path: only the driver writes Parquet

    sink = pa.BufferOutputStream()
    pq.write_table(table.combine_chunks(), sink, use_dictionary=False)
    return sink.getvalue().to_pybytes()
