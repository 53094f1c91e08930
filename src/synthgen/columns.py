"""Batches stored as columns: a step's output object names its columns, and stores only the new ones.

A batch object is a small *manifest* (canonical JSON, named by its hash like every object): the number
of rows and, per column, its name and the pieces that hold its values, each ``[column object, start,
stop]``. A column object is one Arrow column (an IPC stream with a single field ``values``, its field
metadata kept: tagged JSON stays tagged), with **zstd-compressed buffers**: 2.3x smaller than plain IPC
for 200-character text and 7x for integers, at ~0.7 µs per value to write and ~0.15 µs to read
(measured in benchmarks/README.md; lz4 was as slow to write here and 1.5x larger).

A column a step passed through unchanged keeps the pieces of its input, so ``text`` flowing through
four steps is stored once (the store is content-addressed, so this is deduplication by construction);
the inline rows of ``LoadDataFromDicts`` are stored as chunks of :data:`CHUNK_ROWS` rows that its
batches slice. Compressed buffers cannot be memory-mapped without decompressing them, which is why the
Distiset of a run is read from the leaf Parquet files rather than mapped from these objects.
"""

from __future__ import annotations

import io
import json
import operator
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from synthgen.values import ENCODING_KEY, column_array

MANIFEST_MAGIC = b'{"columns":'
"""How a manifest starts (canonical JSON, sorted keys): Arrow IPC streams never start with ``{``."""
CHUNK_ROWS = 16_384
"""Rows per column object when a large table is stored at once (the inline rows): a batch slicing
it reads one or two chunks, not the whole column."""
COMPRESSION = "zstd"
VALUES = "values"
# One column of one batch is small: handing its buffers to Arrow's thread pool cost ~7 ms a column on a
# busy machine, compressing them here ~0.1 ms.
_WRITE_OPTIONS = pa.ipc.IpcWriteOptions(compression=COMPRESSION, use_threads=False)
_READ_OPTIONS = pa.ipc.IpcReadOptions(use_threads=False)
_IMMUTABLE = (pa.types.is_string, pa.types.is_large_string, pa.types.is_integer, pa.types.is_floating,
              pa.types.is_boolean, pa.types.is_null, pa.types.is_binary, pa.types.is_large_binary)

Piece = tuple[str, int, int]
"""``(column object digest, start, stop)``: rows ``start:stop`` of that column object."""


@dataclass(frozen=True)
class StoredTable:
    """A table read from the store, with the pieces each column came from (``None``: not stored as columns)."""

    table: pa.Table
    pieces: dict[str, list[Piece]] | None

    def slice(self, start: int, stop: int) -> StoredTable:
        """Rows ``start:stop``, with their pieces."""
        pieces = None if self.pieces is None else {n: slice_pieces(p, start, stop) for n, p in self.pieces.items()}
        return StoredTable(self.table.slice(start, stop - start), pieces)


def slice_pieces(pieces: list[Piece], start: int, stop: int) -> list[Piece]:
    """The pieces holding rows ``start:stop`` of the column that ``pieces`` make up."""
    out: list[Piece] = []
    offset = 0
    for digest, a, b in pieces:
        lo, hi = max(start, offset), min(stop, offset + b - a)
        if lo < hi:
            out.append((digest, a + lo - offset, a + hi - offset))
        offset += b - a
    return out


def joined_pieces(parts: list[StoredTable]) -> StoredTable | None:
    """The pieces of ``parts`` one after another, under the first part's schema (no rows): ``None``
    unless every part is stored as columns with the same schema."""
    if not parts or any(p.pieces is None or p.table.schema != parts[0].table.schema for p in parts):
        return None
    names = list(parts[0].pieces or {})
    pieces = {name: [piece for p in parts for piece in (p.pieces or {})[name]] for name in names}
    return StoredTable(parts[0].table.slice(0, 0), pieces)  # (schema.empty_table() costs ~0.8 ms)


# ---- encoding -----------------------------------------------------------------------------------
def column_bytes(array: pa.Array | pa.ChunkedArray, field: pa.Field) -> bytes:
    """One column as a zstd-compressed Arrow IPC stream, under the name ``values``."""
    table = pa.Table.from_arrays([array], schema=pa.schema([field.with_name(VALUES)]))
    sink = io.BytesIO()
    with pa.ipc.new_stream(sink, table.schema, options=_WRITE_OPTIONS) as writer:
        writer.write_table(table)
    return sink.getvalue()


def read_column(data: bytes) -> tuple[pa.ChunkedArray, pa.Field]:
    """The column of :func:`column_bytes` and its field.

    Raises:
        ValueError: not a one-column Arrow stream.
    """
    table = pa.ipc.open_stream(data, options=_READ_OPTIONS).read_all()
    if table.num_columns != 1 or table.schema.names != [VALUES]:
        raise ValueError("not a column object")
    return table.column(0), table.schema.field(0)


def manifest_bytes(rows: int, columns: dict[str, list[Piece]]) -> bytes:
    """The canonical JSON of a batch's manifest."""
    value = {"columns": [[name, [list(p) for p in pieces]] for name, pieces in columns.items()], "rows": rows}
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


def is_manifest(data: bytes) -> bool:
    return data.startswith(MANIFEST_MAGIC)


def parse_manifest(data: bytes) -> tuple[int, dict[str, list[Piece]]]:
    """``(rows, pieces per column)`` of a manifest; every column's pieces add up to ``rows``.

    Raises:
        ValueError: not a well-formed manifest.
    """
    value = json.loads(data)
    rows, columns = value["rows"], value["columns"]
    pieces: dict[str, list[Piece]] = {}
    for name, parts in columns:
        pieces[str(name)] = [(str(d), int(a), int(b)) for d, a, b in parts]
        if not isinstance(rows, int) or sum(b - a for _, a, b in pieces[str(name)]) != rows:
            raise ValueError(f"column {name!r} does not hold {rows} rows")
    return int(rows), pieces


def new_column(name: str, values: list[Any]) -> tuple[pa.Array, pa.Field]:
    """A column encoded as :func:`synthgen.values.rows_to_table` encodes it."""
    array, encoded = column_array(name, values)
    metadata = {ENCODING_KEY: b"tagged-json-1"} if encoded else None
    return array, pa.field(name, array.type, metadata=metadata)


def unchanged(values: list[Any], before: list[Any] | None, field: pa.Field | None) -> bool:
    """Whether a step's output ``values`` are its input column's, so the input's pieces can stand for them.

    Flat columns of immutable values (text, numbers, booleans) compare by identity: the same objects,
    in the same order, cannot have changed. Anything else (lists, dicts, tagged JSON) may have been
    mutated in place, so it is stored again (correct, only not deduplicated).
    """
    if before is None or field is None or len(values) != len(before) or field.metadata:
        return False
    return any(check(field.type) for check in _IMMUTABLE) and all(map(operator.is_, values, before))
