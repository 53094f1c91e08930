"""Streaming readers: one file in, rows out, without holding the whole file in memory."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

from synthgen.errors import ConfigError
from synthgen.steps.base import Row

FILETYPES = ("jsonl", "json", "csv", "parquet")
_SUFFIXES = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}
_COMPRESSION = (".gz", ".bz2", ".xz", ".zst", ".lz4")

Reader = Callable[[Any, str], Iterator[Row]]


def infer_filetype(path: str) -> str | None:
    """``data/a.jsonl.gz`` -> ``jsonl``; ``None`` when the suffix is not a known file type."""
    name = path.lower()
    for compression in _COMPRESSION:
        if name.endswith(compression):
            name = name[: -len(compression)]
    return next((kind for suffix, kind in _SUFFIXES.items() if name.endswith(suffix)), None)


def read_rows(fs: Any, path: str, filetype: str) -> Iterator[Row]:
    """Stream the rows of one file of the given type."""
    return _READERS[filetype](fs, path)


def peek_columns(fs: Any, path: str, filetype: str) -> frozenset[str] | None:
    """The columns of one file: the schema of a parquet file, else the keys of its first row
    (``None`` for an empty file)."""
    if filetype == "parquet":
        from pyarrow import parquet

        with fs.open(path, "rb") as handle:
            return frozenset(parquet.ParquetFile(handle).schema_arrow.names)
    rows = read_rows(fs, path, filetype)
    first = next(rows, None)
    getattr(rows, "close", lambda: None)()  # closes the file the generator holds open
    return frozenset(first) if first is not None else None


def _read_jsonl(fs: Any, path: str) -> Iterator[Row]:
    with fs.open(path, "rt", compression="infer", encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                yield _parse_json_line(line, path, number)


def _parse_json_line(line: str, path: str, number: int) -> Row:
    try:
        row = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path} line {number} is not valid JSON ({exc.msg}): expected one JSON object per line") from None
    if not isinstance(row, dict):
        raise ConfigError(f"{path} line {number} is a {type(row).__name__}: expected one JSON object per line")
    return row


def _read_json(fs: Any, path: str) -> Iterator[Row]:
    # A ``.json`` file is either JSON lines (streamed) or one array of objects, which has to be
    # parsed whole: use ``.jsonl`` for files that do not fit in memory.
    with fs.open(path, "rt", compression="infer", encoding="utf-8") as handle:
        head = handle.read(1)
        while head and head.isspace():
            head = handle.read(1)
    if head != "[":
        yield from _read_jsonl(fs, path)
        return
    with fs.open(path, "rt", compression="infer", encoding="utf-8") as handle:
        rows = json.load(handle)
    for number, row in enumerate(rows):
        if not isinstance(row, dict):
            raise ConfigError(f"{path} item {number} is a {type(row).__name__}: expected an array of JSON objects")
        yield row


def _read_csv(fs: Any, path: str) -> Iterator[Row]:
    from pyarrow import ArrowInvalid, csv

    with fs.open(path, "rb", compression="infer") as handle:
        reader = csv.open_csv(handle)
        try:
            for batch in reader:
                yield from batch.to_pylist()
        except ArrowInvalid as exc:
            # Column types are inferred from the first block; a later block may not fit them.
            raise ConfigError(f"cannot read CSV file {path}: {exc}. Convert it to jsonl or parquet") from None


def _read_parquet(fs: Any, path: str) -> Iterator[Row]:
    from pyarrow import parquet

    with fs.open(path, "rb") as handle:
        for batch in parquet.ParquetFile(handle).iter_batches(batch_size=1024):
            yield from batch.to_pylist()


_READERS: dict[str, Reader] = {"jsonl": _read_jsonl, "json": _read_json, "csv": _read_csv, "parquet": _read_parquet}
