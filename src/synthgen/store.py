"""The content-addressed store: the data plane between steps.

Every batch a step emits is written here once, atomically, before any downstream step sees it; queues
carry object digests, not rows. Small JSON records (batch index, LLM responses) live beside the objects.
The cache is untrusted input: objects are verified by their content hash and records by the hash they
carry (:mod:`synthgen.records`) when read; a damaged one is reported and treated as missing, so it is
recomputed rather than silently used. Values are data only (:mod:`synthgen.values`): nothing read
here is unpickled or executed.
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import Any

import pyarrow as pa
from loguru import logger

from synthgen.blobs import blobs_at, write_atomic
from synthgen.cache_location import default_cache_dir, resolve_cache_root
from synthgen.errors import CacheError
from synthgen.names import check_name
from synthgen.paths import inside
from synthgen.records import DamagedRecord, seal, unseal
from synthgen.values import rows_to_table, table_to_rows

__all__ = ["Store", "default_cache_dir", "rows_to_table", "table_to_rows", "write_atomic"]

_LEGACY_PICKLED = b"synthgen.pickled_columns"  # metadata of objects from earlier versions: refused


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

    # ---- objects ---------------------------------------------------------------------------
    @staticmethod
    def _object_name(digest: str) -> str:
        return f"objects/{digest[:2]}/{digest}.arrow"

    def put_table(self, table: pa.Table) -> str:
        """Write a table once; return its digest."""
        return self.put_ipc(table_to_bytes(table))

    def put_ipc(self, data: bytes) -> str:
        """Write an Arrow IPC stream (from :func:`table_to_bytes`) once; return its digest."""
        digest = digest_bytes(data)
        name = self._object_name(digest)
        # Content addressing makes a rewrite unnecessary unless the stored copy is missing or damaged
        # (a same-size bit flip too: the stored bytes are checked, not their size).
        if not self._stored_intact(name, data):
            self.shared.write(name, data)
        return digest

    def _stored_intact(self, name: str, data: bytes) -> bool:
        if self.shared.size(name) != len(data):
            return False
        try:
            return self.shared.read(name) == data
        except FileNotFoundError:
            return False

    def put_rows(self, rows: list[dict[str, Any]]) -> tuple[str, int]:
        """Write rows; return ``(digest, number of rows)``."""
        return self.put_table(rows_to_table(rows)), len(rows)

    def verified_object_file(self, digest: str) -> Path | None:
        """The local file of an intact object, for memory-mapping; ``None`` when the cache is remote or
        the object is missing or damaged. The bytes are hashed through reads, not through a mapping, so
        checking a large object puts none of it in this process's memory."""
        if self.remote is not None:
            return None
        path = Path(self.location) / self._object_name(digest)
        hasher = hashlib.blake2b(digest_size=20)
        try:
            with path.open("rb") as fh:
                while chunk := fh.read(1 << 20):
                    hasher.update(chunk)
        except OSError:
            return None
        return path if hasher.hexdigest() == digest else None

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
            CorruptObject: the object is missing, its bytes do not hash to ``digest``, or it is not an
                object this version reads (one with pickled values); a damaged copy is removed.
        """
        name = self._object_name(digest)
        try:
            data = self.shared.read(name)
        except FileNotFoundError:
            raise CorruptObject(f"object {digest} is missing from the cache at {self.location}") from None
        if digest_bytes(data) != digest:
            return self._refuse(name, digest, "is corrupted (truncated or modified)")
        try:
            table = pa.ipc.open_stream(data).read_all()
        except (pa.ArrowInvalid, OSError):
            return self._refuse(name, digest, "is not a readable Arrow stream")
        if _LEGACY_PICKLED in (table.schema.metadata or {}):
            return self._refuse(name, digest, "holds pickled values, which synthgen never loads")
        return table

    def _refuse(self, name: str, digest: str, problem: str) -> pa.Table:
        logger.warning(f"cache object {digest} {problem}; it will be recomputed")
        self.shared.remove(name)
        raise CorruptObject(f"object {digest} {problem}")

    def get_rows(self, digest: str, start: int = 0, stop: int | None = None) -> list[dict[str, Any]]:
        table = self.get_table(digest)
        if start or stop is not None:
            table = table.slice(start, (stop if stop is not None else table.num_rows) - start)
        return table_to_rows(table)

    # ---- JSON records (batch index, LLM responses, offline ledgers) ------------------------
    @staticmethod
    def _record_name(kind: str, key: str) -> str:
        return f"{kind}/{key[:2]}/{key}.json"

    def put_record(self, kind: str, key: str, value: dict[str, Any], sync: bool = True) -> None:
        """Write one JSON record atomically, with its content hash; ``sync=False`` for records a power
        cut may cost (the work is redone), never for paid LLM answers."""
        self.shared.write(self._record_name(kind, key), seal(value, f"{kind}/{key}"), sync=sync)

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
