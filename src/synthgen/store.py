"""The content-addressed store: the data plane between steps.

Every batch a step emits is written here once, atomically, before any downstream step sees it; queues
carry object digests, not rows. Small JSON records (batch index, LLM responses) live beside the objects.
Objects are verified by their content hash when read: a damaged one is reported and treated as missing,
so it is recomputed rather than silently used.
"""

from __future__ import annotations

import hashlib
import io
import json
import pickle
from pathlib import Path
from typing import Any

import pyarrow as pa
from loguru import logger

from synthgen.blobs import blobs_at, write_atomic
from synthgen.cache_location import default_cache_dir, resolve_cache_root
from synthgen.errors import CacheError

__all__ = ["Store", "default_cache_dir", "write_atomic"]

_PICKLED = b"synthgen.pickled_columns"


_ACTIVE: Store | None = None
SHARED_DIRS = frozenset({"objects", "batches", "requests", "offline", "routes"})
"""Folders of the cache root shared by every pipeline; no pipeline may be named like one."""


def set_active_store(store: Store | None) -> None:
    """Make ``store`` the one this process's steps and LLMs use (set by the runner in each worker)."""
    global _ACTIVE
    _ACTIVE = store


def active_store() -> Store | None:
    """The store of the running pipeline in this process, or ``None`` outside a run."""
    return _ACTIVE


def digest_bytes(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=20).hexdigest()


def rows_to_table(rows: list[dict[str, Any]]) -> pa.Table:
    """Rows as an Arrow table over the union of their columns.

    A column Arrow cannot type (say ints mixed with strings) is kept as pickled values, so no
    row content is ever lost to a schema.
    """
    if rows and _same_keys(rows):
        try:  # the common case, about 3x faster than building each column in Python
            return pa.Table.from_pylist(rows)
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, TypeError, OverflowError):
            pass
    return _rows_to_table_by_column(rows)


def _same_keys(rows: list[dict[str, Any]]) -> bool:
    """No row has a column the first row lacks (``from_pylist`` takes its columns from the first row;
    a row missing one gets ``None``, as in the slow path)."""
    first = rows[0]
    return bool(first) and len(set().union(*rows)) == len(first)


def _rows_to_table_by_column(rows: list[dict[str, Any]]) -> pa.Table:
    columns: dict[str, None] = {}
    for row in rows:
        columns.update(dict.fromkeys(row))
    arrays, pickled = {}, []
    for name in columns:
        values = [row.get(name) for row in rows]
        try:
            arrays[name] = pa.array(values)
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, TypeError, OverflowError):
            arrays[name] = pa.array([pickle.dumps(v) for v in values], type=pa.binary())
            pickled.append(name)
    table = pa.table(arrays) if arrays else pa.table({})
    if not arrays:
        table = pa.table({"__empty__": pa.nulls(len(rows))})
    return table.replace_schema_metadata({_PICKLED: json.dumps(pickled).encode()}) if pickled else table


def table_to_rows(table: pa.Table) -> list[dict[str, Any]]:
    """Inverse of :func:`rows_to_table`."""
    meta = table.schema.metadata or {}
    pickled = json.loads(meta.get(_PICKLED, b"[]"))
    if "__empty__" in table.column_names:
        return [{} for _ in range(table.num_rows)]
    rows: list[dict[str, Any]] = table.to_pylist()
    for name in pickled:
        for row in rows:
            row[name] = pickle.loads(row[name])
    return rows


def table_to_bytes(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue()


class CorruptObject(CacheError):
    """An object's bytes do not match its digest."""


class Store:
    """Content-addressed objects and JSON records under one cache root.

    Args:
        root: the cache root, shared by every pipeline that uses it: a path, or an object-storage URL
            (see :mod:`synthgen.cache_location`). ``None``: ``$SYNTHGEN_CACHE_DIR`` or the default.

    Attributes:
        location: what a worker rebuilds this store from.
        root: the local folder of the pipeline folders (for a local root, the whole cache).
        remote: the object-storage URL of the shared part, or ``None``.
    """

    def __init__(self, root: str | Path | None = None) -> None:
        resolved = resolve_cache_root(root)
        self.location, self.root, self.remote = resolved.location, resolved.local, resolved.remote
        self.shared = blobs_at(self.location)
        # use_cache=False: LLM answers from earlier runs are not read (they are sent and paid for again),
        # but one answer per request within this run still is.
        self.fresh_requests = False
        self.refreshed: set[str] = set()

    # ---- objects ---------------------------------------------------------------------------
    @staticmethod
    def _object_name(digest: str) -> str:
        return f"objects/{digest[:2]}/{digest}.arrow"

    def put_table(self, table: pa.Table) -> str:
        """Write a table once; return its digest."""
        data = table_to_bytes(table)
        digest = digest_bytes(data)
        name = self._object_name(digest)
        # Content addressing makes a rewrite unnecessary unless the stored copy is damaged.
        if self.shared.size(name) != len(data):
            self.shared.write(name, data)
        return digest

    def put_rows(self, rows: list[dict[str, Any]]) -> tuple[str, int]:
        """Write rows; return ``(digest, number of rows)``."""
        return self.put_table(rows_to_table(rows)), len(rows)

    def has_object(self, digest: str) -> bool:
        return self.shared.exists(self._object_name(digest))

    def verify_object(self, digest: str) -> bool:
        """True when the object exists and its bytes match its digest (a damaged one is removed)."""
        try:
            self.get_table(digest)
        except CorruptObject:
            return False
        return True

    def get_table(self, digest: str) -> pa.Table:
        """Read and verify an object.

        Raises:
            CorruptObject: the stored bytes do not hash to ``digest`` (the copy is removed).
        """
        name = self._object_name(digest)
        try:
            data = self.shared.read(name)
        except FileNotFoundError:
            raise CorruptObject(f"object {digest} is missing from the cache at {self.location}") from None
        if digest_bytes(data) != digest:
            logger.warning(f"cache object {digest} is corrupted (truncated or modified); it will be recomputed")
            self.shared.remove(name)
            raise CorruptObject(f"object {digest} is corrupted")
        return pa.ipc.open_stream(data).read_all()

    def get_rows(self, digest: str, start: int = 0, stop: int | None = None) -> list[dict[str, Any]]:
        table = self.get_table(digest)
        if start or stop is not None:
            table = table.slice(start, (stop if stop is not None else table.num_rows) - start)
        return table_to_rows(table)

    # ---- JSON records (batch index, LLM responses, offline ledgers) ------------------------
    @staticmethod
    def _record_name(kind: str, key: str) -> str:
        return f"{kind}/{key[:2]}/{key}.json"

    def put_record(self, kind: str, key: str, value: Any, sync: bool = True) -> None:
        """Write one JSON record atomically; ``sync=False`` for records a power cut may cost (the work
        is redone), never for paid LLM answers."""
        self.shared.write(self._record_name(kind, key), json.dumps(value, ensure_ascii=False).encode(), sync=sync)

    def put_records(self, kind: str, values: dict[str, Any]) -> None:
        """Write many records durably at once (50,000 answers of an offline batch job)."""
        self.shared.write_many({self._record_name(kind, key): json.dumps(value, ensure_ascii=False).encode()
                                for key, value in values.items()})

    def get_record(self, kind: str, key: str) -> Any | None:
        """The record, or ``None`` when absent or unreadable (a damaged record is recomputed)."""
        name = self._record_name(kind, key)
        try:
            return json.loads(self.shared.read(name))
        except FileNotFoundError:
            return None
        except (ValueError, UnicodeDecodeError):
            logger.warning(f"cache record {kind}/{key} is damaged; it will be recomputed")
            self.shared.remove(name)
            return None

    def pipeline_dir(self, name: str, signature: str) -> Path:
        """``<root>/<name>/<signature>``, on the driver's machine.

        Raises:
            CacheError: ``name`` is one of the shared folders, or is not a plain folder name.
        """
        if name in SHARED_DIRS or not name or "/" in name or name.startswith("."):
            raise CacheError(
                f"pipeline name '{name}' cannot name a cache folder (reserved: {', '.join(sorted(SHARED_DIRS))}; "
                "no '/' or leading '.'): choose another name"
            )
        return self.root / name / signature

    def shared_pipeline_location(self, name: str, signature: str) -> str | None:
        """``<url>/<name>/<signature>`` in object storage (the run folder, the driver lease); ``None`` for
        a local root, where the pipeline folder itself is shared."""
        self.pipeline_dir(name, signature)  # the same checks of the name
        return f"{self.remote}/{name}/{signature}" if self.remote else None

    def run_location(self, name: str, signature: str) -> str:
        """The run folder of a pipeline where every replica sees it (:mod:`synthgen.interrupts`)."""
        shared = self.shared_pipeline_location(name, signature)
        return f"{shared}/.run" if shared else str(self.pipeline_dir(name, signature) / ".run")
