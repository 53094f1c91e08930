"""A leaf's dataset one page at a time: read batch by batch through pyarrow, never whole.

The Parquet files of ``data/<leaf>/`` are the run's dataset. A page scans record batches in order,
keeps only the rows of the page that match (search text, failed rows), and counts the matches.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from synthgen.errors import CacheError

METADATA = "synthgen_metadata"
SCAN_ROWS = 2048  # rows per record batch read: memory stays bounded whatever the dataset's size


@dataclass
class Page:
    """The rows of one page, with their row numbers in the leaf, and how many rows matched in all."""

    columns: list[str]
    rows: list[tuple[int, dict[str, Any]]]
    matched: int
    total: int


def leaf_files(pdir: Path, leaf: str) -> list[Path]:
    """The Parquet files of ``leaf``, in order.

    Raises:
        CacheError: the leaf has no data (not a leaf, or its run did not finish).
    """
    folder = pdir / "data" / leaf
    files = sorted(folder.glob("*.parquet")) if "/" not in leaf and leaf not in ("", ".", "..") else []
    if not files:
        raise CacheError(f"no data for leaf '{leaf}' in {pdir / 'data'}: its run has not written it yet")
    return files


def scan(files: list[Path], columns: list[str] | None = None) -> Iterator[pa.RecordBatch]:
    """The record batches of ``files`` in order (only ``columns`` when given)."""
    for path in files:
        parquet = pq.ParquetFile(path)
        wanted = None if columns is None else [c for c in columns if c in parquet.schema_arrow.names]
        yield from parquet.iter_batches(batch_size=SCAN_ROWS, columns=wanted)


def schema(files: list[Path]) -> pa.Schema:
    return pq.ParquetFile(files[0]).schema_arrow


def read_page(files: list[Path], offset: int, limit: int, search: str = "", failed_only: bool = False) -> Page:
    """Rows ``offset .. offset+limit`` of those that match ``search`` (any text column holds it, case
    ignored) and, with ``failed_only``, that failed in some step."""
    rows: list[tuple[int, dict[str, Any]]] = []
    matched = total = 0
    for batch in scan(files):
        mask = _mask(batch, search, failed_only)
        hits = np.flatnonzero(mask)
        wanted = hits[max(0, offset - matched): max(0, offset + limit - matched)]
        if len(wanted):
            picked = batch.take(pa.array(wanted)).to_pylist()
            rows += [(total + int(i), row) for i, row in zip(wanted, picked, strict=True)]
        matched += len(hits)
        total += batch.num_rows
    return Page(schema(files).names, rows, matched, total)


def _mask(batch: pa.RecordBatch, search: str, failed_only: bool) -> np.ndarray:
    mask = np.ones(batch.num_rows, dtype=bool)
    if failed_only:
        mask &= failed_mask(batch)
    if search:
        mask &= _search_mask(batch, search)
    return mask


def failed_mask(batch: pa.RecordBatch) -> np.ndarray:
    """Rows with a non-null ``synthgen_metadata.error_<step>`` for some step."""
    failed = np.zeros(batch.num_rows, dtype=bool)
    if METADATA not in batch.schema.names or not pa.types.is_struct(batch.schema.field(METADATA).type):
        return failed
    meta = batch.column(METADATA)
    for i, child in enumerate(meta.type):
        if child.name.startswith("error_"):
            failed |= pc.is_valid(pc.struct_field(meta, [i])).to_numpy(zero_copy_only=False)
    return failed & meta.is_valid().to_numpy(zero_copy_only=False)


def text_columns(schema: pa.Schema) -> list[str]:
    """Columns of strings, or of lists of strings (a task's generations)."""
    return [f.name for f in schema if _is_text(f.type)]


def _is_text(kind: pa.DataType) -> bool:
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        kind = kind.value_type
    return bool(pa.types.is_string(kind) or pa.types.is_large_string(kind))


def _search_mask(batch: pa.RecordBatch, search: str) -> np.ndarray:
    found = np.zeros(batch.num_rows, dtype=bool)
    for name in text_columns(batch.schema):
        column = batch.column(name)
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            hit = pc.match_substring(column, search, ignore_case=True).fill_null(False)
            found |= hit.to_numpy(zero_copy_only=False)
        else:  # a list column: a row matches when one of its strings does
            values = pc.list_flatten(column)
            hit = pc.match_substring(values, search, ignore_case=True).fill_null(False).to_numpy(zero_copy_only=False)
            parents = pc.list_parent_indices(column).to_numpy()
            found[np.unique(parents[hit])] = True
    return found
