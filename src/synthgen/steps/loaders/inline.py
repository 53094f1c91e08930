"""Rows given inline to a step (``LoadDataFromDicts(data=rows)``) are data, not configuration.

They are hashed once (canonical JSON, as a fingerprint hashes parameters: cheaper than encoding them,
which a cached rerun never needs), and named by that hash in the step's fingerprint and in
pipeline.yaml, beside a few sample rows for the people who read it. A run writes them to the store once,
as column objects of 16,384 rows (:mod:`synthgen.columns`) that the step's batches slice without
copying them, with the record ``inline/<hash>`` naming that object. A step built from pipeline.yaml, or
sent to a worker process, carries only the reference and reads the rows back from the store.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pyarrow as pa

from synthgen.errors import ConfigError
from synthgen.steps.base import Row
from synthgen.store import CorruptObject, Store
from synthgen.values import rows_to_table

REFERENCE_KEY = "inline_rows"
RECORDS = "inline"  # the store's records: content hash -> object digest
SAMPLE_ROWS = 3


def is_reference(value: Any) -> bool:
    """True for the ``{"inline_rows": <digest>, ...}`` mapping that stands for rows in the store."""
    return isinstance(value, dict) and isinstance(value.get(REFERENCE_KEY), str)


def check_reference(value: dict[str, Any]) -> dict[str, Any]:
    """Validate a reference read from pipeline.yaml.

    Raises:
        ValueError: a mapping that is not a reference (pydantic turns it into a validation error).
    """
    if not is_reference(value) or not isinstance(value.get("columns"), list):
        raise ValueError(
            "data must be a list of dicts (one per row), or the reference pipeline.yaml holds for them: "
            f"{{'{REFERENCE_KEY}': <digest>, 'num_rows': ..., 'columns': [...]}}"
        )
    return value


def content_hash(rows: list[Row]) -> str:
    """SHA-256 of the rows as canonical JSON (what the fingerprint of inline rows always hashed).

    Raises:
        ConfigError: a row contains itself, or nests deeper than Python's recursion limit.
    """
    try:  # no check for cycles (a quarter of the time, on every run): a cycle ends in RecursionError
        text = _CANONICAL.encode(rows)
    except RecursionError:
        raise ConfigError("the rows given as data nest too deep or contain themselves (a value that holds the "
                          "list or dict it is in): give rows of plain values, lists and dicts") from None
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), default=repr, ensure_ascii=False,
                              check_circular=False)


def store_rows(store: Store, key: str, rows: list[Row]) -> str:
    """Write ``rows`` as one object and the record naming it under ``key``; return the object's digest."""
    record = store.get_record(RECORDS, key)
    if record is not None and _intact(store, record["object"]):
        return str(record["object"])  # every column checked: a damaged chunk is written again from the rows
    digest = store.put_table(rows_to_table(rows))
    store.put_record(RECORDS, key, {"object": digest, "num_rows": len(rows)})
    pa.default_memory_pool().release_unused()  # the conversion's buffers, as in _intact
    return digest


def _intact(store: Store, digest: str) -> bool:
    """Whether every column of the stored rows is intact: checked once per run, by the driver. Checking
    decodes them all; neither the store's column cache nor Arrow's pool keeps that memory for the rest of
    the run (100 MB for 300k rows of 200-character text)."""
    intact = store.verify_object(digest, keep=False)
    pa.default_memory_pool().release_unused()
    return intact


def recorded_object(store: Store, key: str, step_name: str) -> str:
    """The digest of the object the record of ``key`` names, unchecked: for the loader's replica, once
    the driver checked it (:func:`stored_object`) at the start of the run; every column is checked again
    as the steps read it.

    Raises:
        ConfigError: the cache has no record of these rows.
    """
    record = store.get_record(RECORDS, key)
    if record is None:
        raise missing_rows_error(store, key, step_name)
    return str(record["object"])


def stored_object(store: Store, key: str, step_name: str) -> str:
    """The digest of the object holding the rows of ``key``.

    Raises:
        ConfigError: the cache has no such rows.
    """
    record = store.get_record(RECORDS, key)
    if record is None or not _intact(store, record["object"]):
        raise missing_rows_error(store, key, step_name)
    return str(record["object"])


def reference(key: str, rows: list[Row], columns: list[str]) -> dict[str, Any]:
    """What pipeline.yaml and the fingerprint hold for ``rows``."""
    return {REFERENCE_KEY: key, "num_rows": len(rows), "columns": columns,
            "sample": [_readable(row) for row in rows[:SAMPLE_ROWS]]}


def _readable(row: Row) -> Row:
    # For people, not for rebuilding: any value JSON cannot write is shown as its str().
    return json.loads(json.dumps(row, default=str, ensure_ascii=False))


def read_rows_table(store: Store, ref: dict[str, Any], step_name: str) -> pa.Table:
    """The stored table of a reference.

    Raises:
        ConfigError: the cache no longer has the rows (removed by ``cache gc`` or ``cache clear``, or a
            pipeline.yaml brought from another machine).
    """
    key = ref[REFERENCE_KEY]
    try:
        return store.get_table(stored_object(store, key, step_name))
    except CorruptObject:
        raise missing_rows_error(store, key, step_name) from None


def missing_rows_error(store: Store, key: str, step_name: str) -> ConfigError:
    return ConfigError(
        f"step '{step_name}' refers to inline rows {key}, which the cache at {store.location} no longer "
        "has (removed by `synthgen cache gc`/`clear`, or another cache): run the pipeline from its Python "
        "script again, which stores them, or pass the cache_dir that holds them"
    )
