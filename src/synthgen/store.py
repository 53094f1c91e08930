"""The content-addressed store: the data plane between steps.

Every batch a step emits is written here once, atomically, before any downstream step sees it; queues carry
object digests, not rows. Small JSON records (batch index, LLM responses) live beside the objects. The cache
is untrusted input: objects are checked against their content hash and records against the hash they carry
(:mod:`synthgen.records`) when read; a damaged one is reported and recomputed, never used. Values are data
only (:mod:`synthgen.values`): nothing read here is unpickled or executed.
"""

from __future__ import annotations

import copy
import hashlib
import io
import threading
from collections import OrderedDict
from itertools import chain, repeat
from pathlib import Path
from typing import Any

import pyarrow as pa
from loguru import logger

from synthgen import columns
from synthgen.blobs import blobs_at, write_atomic
from synthgen.cache_location import default_cache_dir, resolve_cache_root
from synthgen.columns import Piece, StoredTable
from synthgen.errors import CacheError
from synthgen.names import check_name
from synthgen.paths import inside
from synthgen.records import DamagedRecord, seal, unseal
from synthgen.values import EMPTY_COLUMN, rows_to_table, table_to_rows

__all__ = ["Reuse", "Store", "default_cache_dir", "rows_to_table", "table_to_rows", "write_atomic"]

_LEGACY_PICKLED = b"synthgen.pickled_columns"  # metadata of objects from earlier versions: refused
_COLUMNS_KEPT = 16  # verified column objects a process keeps decoded: a batch slicing a chunk reads it once


_ACTIVE: Store | None = None
SHARED_DIRS = frozenset({"objects", "batches", "requests", "offline", "routes", "leases", "inline"})
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
        self._columns: OrderedDict[str, tuple[pa.ChunkedArray, pa.Field]] = OrderedDict()
        self._columns_lock = threading.Lock()  # a replica may serve batches from several threads

    def __getstate__(self) -> dict[str, Any]:  # a copy sent to another process starts without the cache
        return {k: v for k, v in self.__dict__.items() if k not in ("_columns", "_columns_lock")}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._columns, self._columns_lock = OrderedDict(), threading.Lock()

    # ---- objects ---------------------------------------------------------------------------
    @staticmethod
    def _object_name(digest: str) -> str:
        return f"objects/{digest[:2]}/{digest}.arrow"

    def put_table(self, table: pa.Table, sync: bool = True) -> str:
        """Write a table as column objects of at most :data:`~synthgen.columns.CHUNK_ROWS` rows and the
        manifest naming them; return the manifest's digest (``sync``: as :meth:`put_object`)."""
        pieces: dict[str, list[Piece]] = {}
        for field, column in zip(table.schema, table.columns, strict=True):
            pieces[field.name] = [self._put_column(column.slice(start, columns.CHUNK_ROWS), field, sync)
                                  for start in range(0, table.num_rows, columns.CHUNK_ROWS)]
        return self.put_object(columns.manifest_bytes(table.num_rows, pieces), sync)

    def _put_column(self, array: pa.Array | pa.ChunkedArray, field: pa.Field, sync: bool) -> Piece:
        return self.put_object(columns.column_bytes(array, field), sync), 0, len(array)

    def put_object(self, data: bytes, sync: bool = True) -> str:
        """Write ``data`` once under its digest; return the digest.

        ``sync=False`` skips the fsync, for objects that a power cut may cost: every read checks an
        object against its digest, so one lost or torn by a power cut is recomputed, never used.
        """
        digest = digest_bytes(data)
        name = self._object_name(digest)
        # Content addressing makes a rewrite unnecessary unless the stored copy is missing or damaged
        # (a same-size bit flip too: the stored bytes are checked, not their size).
        if not self._stored_intact(name, data):
            self.shared.write(name, data, sync=sync)
        return digest

    def _stored_intact(self, name: str, data: bytes) -> bool:
        try:
            return self.shared.size(name) == len(data) and self.shared.read(name) == data
        except FileNotFoundError:
            return False

    def put_rows(self, rows: list[dict[str, Any]], unchanged_from: Reuse | None = None,
                 sync: bool = True) -> tuple[str, int]:
        """Write rows as a batch of columns; return ``(digest, number of rows)``.

        Args:
            rows: the batch.
            unchanged_from: the step's input, as :class:`Reuse`: a column whose values are the input's
                is stored as the input's pieces, not again.
            sync: as :meth:`put_object`.

        Raises:
            ValueEncodingError: a value that no encoding holds.
        """
        names = dict.fromkeys(chain.from_iterable(rows))  # every row's keys, in order of first appearance
        if not names:
            return self.put_table(rows_to_table(rows), sync), len(rows)
        pieces: dict[str, list[Piece]] = {}
        for name in names:
            values = column_values(rows, name)
            if unchanged_from is not None and unchanged_from.holds(name, values):
                pieces[name] = unchanged_from.pieces[name]
            else:
                pieces[name] = [self._put_column(*columns.new_column(name, values), sync)]
        return self.put_object(columns.manifest_bytes(len(rows), pieces), sync), len(rows)

    def put_manifest(self, rows: int, pieces: dict[str, list[Piece]], sync: bool = True) -> str:
        """Write a batch of ``rows`` rows whose columns are all in the store already (a slice of a stored
        table); return its digest (``sync``: as :meth:`put_object`)."""
        return self.put_object(columns.manifest_bytes(rows, pieces), sync)

    def manifest(self, digest: str) -> tuple[int, dict[str, list[Piece]]] | None:
        """``(rows, pieces per column)`` of a verified batch of columns; ``None`` for a table stored whole.

        Raises:
            CorruptObject: the object is missing or damaged.
        """
        data = self._verified_bytes(digest)
        return self._manifest(digest, data) if columns.is_manifest(data) else None

    def verified_object_file(self, digest: str) -> Path | None:
        """The local file of an intact object, for memory-mapping; ``None`` when the cache is remote or
        the object is missing or damaged. The bytes are hashed through reads, not through a mapping, so
        checking a large object puts none of it in this process's memory."""
        if self.remote is not None:
            return None
        path = Path(self.location) / self._object_name(digest)
        try:
            with path.open("rb") as fh:
                if columns.is_manifest(fh.read(len(columns.MANIFEST_MAGIC))):
                    return None  # compressed columns: read, not mapped (synthgen.columns)
        except OSError:
            return None
        hasher = hashlib.blake2b(digest_size=20)
        try:
            with path.open("rb") as fh:
                while chunk := fh.read(1 << 20):
                    hasher.update(chunk)
        except OSError:
            return None
        return path if hasher.hexdigest() == digest else None

    def has_object(self, digest: str) -> bool:
        """Whether the object is there, and for a batch of columns, each of its column objects."""
        try:
            data = self.shared.read(self._object_name(digest))
        except FileNotFoundError:
            return False
        if not columns.is_manifest(data):
            return True
        try:
            return all(self.shared.exists(self._object_name(d)) for d in _column_digests(self._manifest(digest, data)))
        except CorruptObject:
            return False

    def verify_object(self, digest: str, keep: bool = True) -> bool:
        """True when the object and its columns exist and match their digests; a damaged one is removed.
        ``keep=False``: a one-time check of a large object, whose decoded columns are not kept."""
        try:
            (self if keep else copy.copy(self)).get_stored(digest)  # a copy starts with no decoded column
        except CorruptObject:
            return False
        return True

    def referenced_objects(self, digest: str) -> set[str]:
        """The column objects a batch object names (none for a table stored whole, or a damaged one)."""
        try:
            data = self._verified_bytes(digest)
        except CorruptObject:
            return set()
        return _column_digests(self._manifest(digest, data)) if columns.is_manifest(data) else set()

    def get_table(self, digest: str) -> pa.Table:
        """Read and verify an object: a batch of columns (each column object verified), or a table
        stored whole by an earlier synthgen.

        Raises:
            CorruptObject: the object or one of its columns is missing, its bytes do not hash to its
                digest, or it is not an object this version reads (one with pickled values); a damaged
                copy is removed.
        """
        return self.get_stored(digest).table

    def get_stored(self, digest: str) -> StoredTable:
        """:meth:`get_table`, with the pieces each column came from (``None`` for a table stored whole)."""
        data = self._verified_bytes(digest)
        if columns.is_manifest(data):
            return self._assemble(*self._manifest(digest, data))
        name = self._object_name(digest)
        try:
            table = pa.ipc.open_stream(data).read_all()
        except (pa.ArrowInvalid, OSError):
            return self._refuse(name, digest, "is not a readable Arrow stream")
        if _LEGACY_PICKLED in (table.schema.metadata or {}):
            return self._refuse(name, digest, "holds pickled values, which synthgen never loads")
        return StoredTable(table, None)

    def _verified_bytes(self, digest: str) -> bytes:
        name = self._object_name(digest)
        try:
            data = self.shared.read(name)
        except FileNotFoundError:
            raise CorruptObject(f"object {digest} is missing from the cache at {self.location}") from None
        if digest_bytes(data) != digest:
            self._refuse(name, digest, "is corrupted (truncated or modified)")
        return data

    def _manifest(self, digest: str, data: bytes) -> tuple[int, dict[str, list[Piece]]]:
        try:
            return columns.parse_manifest(data)
        except (ValueError, KeyError, TypeError):
            return self._refuse(self._object_name(digest), digest, "is not a readable batch of columns")

    def _assemble(self, rows: int, pieces: dict[str, list[Piece]]) -> StoredTable:
        if not pieces:
            return StoredTable(pa.table({EMPTY_COLUMN: pa.nulls(rows)}), {})
        arrays, fields = [], []
        for name, parts in pieces.items():
            read = [self._column(d) for d, _, _ in parts]
            chunks = [c for (array, _), (_, a, b) in zip(read, parts, strict=True) for c in array.slice(a, b - a).chunks]
            field = read[0][1] if read else pa.field(name, pa.null())
            arrays.append(pa.chunked_array(chunks, type=field.type))
            fields.append(field.with_name(name))
        return StoredTable(pa.Table.from_arrays(arrays, schema=pa.schema(fields)), pieces)

    def _column(self, digest: str) -> tuple[pa.ChunkedArray, pa.Field]:
        with self._columns_lock:
            kept = self._columns.get(digest)
            if kept is not None:
                self._columns.move_to_end(digest)
                return kept
        data = self._verified_bytes(digest)
        try:
            kept = columns.read_column(data)
        except (pa.ArrowInvalid, OSError, ValueError):
            return self._refuse(self._object_name(digest), digest, "is not a readable column")
        with self._columns_lock:
            self._columns[digest] = kept
            if len(self._columns) > _COLUMNS_KEPT:
                self._columns.popitem(last=False)
        return kept

    def _refuse(self, name: str, digest: str, problem: str) -> Any:
        logger.warning(f"cache object {digest} {problem}; it will be recomputed")
        self.shared.remove(name)
        raise CorruptObject(f"object {digest} {problem}")

    def get_rows(self, digest: str, start: int = 0, stop: int | None = None) -> list[dict[str, Any]]:
        """Rows ``start:stop`` of an object, verified (:meth:`get_table`)."""
        table = self.get_table(digest)
        if start or stop is not None:
            table = table.slice(start, (stop if stop is not None else table.num_rows) - start)
        return table_to_rows(table)

    # ---- JSON records (batch index, LLM responses, offline ledgers) ------------------------
    @staticmethod
    def _record_name(kind: str, key: str) -> str:
        return f"{kind}/{key[:2]}/{key}.json"

    def put_record(self, kind: str, key: str, value: dict[str, Any], sync: bool = True) -> None:
        """Write one JSON record atomically, with its content hash; ``sync=False`` leaves the fsync to
        :meth:`sync_record` (a paid LLM answer) or to nobody (a record a power cut may cost: redone)."""
        self.shared.write(self._record_name(kind, key), seal(value, f"{kind}/{key}"), sync=sync)

    def sync_record(self, kind: str, key: str) -> None:
        """fsync a record written with ``sync=False`` (a no-op on object storage)."""
        self.shared.sync(self._record_name(kind, key))

    def put_records(self, kind: str, values: dict[str, dict[str, Any]]) -> None:
        """Write many records durably at once (50,000 answers of an offline batch job)."""
        self.shared.write_many({self._record_name(kind, key): seal(value, f"{kind}/{key}")
                                for key, value in values.items()})

    def get_record(self, kind: str, key: str, consequence: str = "it will be recomputed") -> dict[str, Any] | None:
        """The record, or ``None`` when absent or damaged.

        A damaged record (unreadable, or not matching its content hash) is reported once, removed and
        treated as missing, so what it held is recomputed.

        Args:
            kind: the records' folder (``batches``, ``requests``, ...).
            key: the record's key.
            consequence: what a damaged record costs, for the warning.
        """
        name = self._record_name(kind, key)
        try:
            return unseal(self.shared.read(name), f"{kind}/{key}")
        except FileNotFoundError:
            return None
        except DamagedRecord as exc:
            logger.warning(f"{exc}: {consequence}")
            self.shared.remove(name)
            return None

    def pipeline_dir(self, name: str, signature: str) -> Path:
        """``<root>/<name>/<signature>``, on the driver's machine.

        Raises:
            PlanError: ``name`` breaks the name rule (:mod:`synthgen.names`).
            CacheError: ``name`` is one of the shared folders, or the folder resolves outside the root.
        """
        check_name("pipeline", name)
        if name in SHARED_DIRS:
            raise CacheError(
                f"pipeline name '{name}' cannot name a cache folder (reserved: {', '.join(sorted(SHARED_DIRS))}): "
                "choose another name"
            )
        return inside(self.root, name, signature)

    def shared_pipeline_location(self, name: str, signature: str) -> str | None:
        """``<url>/<name>/<signature>`` in object storage (the run folder, the driver lease); ``None`` for
        a local root, where the pipeline folder itself is shared."""
        self.pipeline_dir(name, signature)  # the same checks of the name
        return f"{self.remote}/{name}/{signature}" if self.remote else None

    def run_location(self, name: str, signature: str) -> str:
        """The run folder of a pipeline where every replica sees it (:mod:`synthgen.interrupts`)."""
        shared = self.shared_pipeline_location(name, signature)
        return f"{shared}/.run" if shared else str(self.pipeline_dir(name, signature) / ".run")


def column_values(rows: list[dict[str, Any]], name: str) -> list[Any]:
    """Column ``name`` of ``rows`` (``None`` where a row lacks it), looked up in C: ~2x a comprehension."""
    return list(map(dict.get, rows, repeat(name)))


def _column_digests(manifest: tuple[int, dict[str, list[Piece]]]) -> set[str]:
    return {digest for pieces in manifest[1].values() for digest, _, _ in pieces}


class Reuse:
    """A step's input, for :meth:`Store.put_rows`: the pieces of its columns and their values as the
    step received them (before it ran, so a value it replaced is told apart by identity)."""

    def __init__(self, stored: StoredTable, rows: list[dict[str, Any]]) -> None:
        self.pieces = stored.pieces or {}
        self.fields = {f.name: f for f in stored.table.schema}
        self.before = {name: column_values(rows, name) for name in self.pieces}

    def holds(self, name: str, values: list[Any]) -> bool:
        """Whether ``values`` are this input's column ``name``, unchanged."""
        return columns.unchanged(values, self.before.get(name), self.fields.get(name))
