"""Rows given inline to a step (``LoadDataFromDicts(data=rows)``) are data, not configuration.

They are encoded and hashed once, written to the store once as one object, and named by that object's
digest in the step's fingerprint and in pipeline.yaml, beside a few sample rows for the people who read
it. A step built from pipeline.yaml, or sent to a worker process, carries only this reference and reads
the rows back from the store.
"""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa

from synthgen.errors import ConfigError
from synthgen.steps.base import Row
from synthgen.store import CorruptObject, Store, digest_bytes, table_to_bytes
from synthgen.values import rows_to_table

REFERENCE_KEY = "inline_rows"
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


def encode_rows(rows: list[Row]) -> tuple[str, bytes]:
    """``(digest, Arrow IPC bytes)`` of the object the rows are stored as."""
    data = table_to_bytes(rows_to_table(rows))
    return digest_bytes(data), data


def reference(digest: str, rows: list[Row], columns: list[str]) -> dict[str, Any]:
    """What pipeline.yaml and the fingerprint hold for ``rows``."""
    return {REFERENCE_KEY: digest, "num_rows": len(rows), "columns": columns,
            "sample": [_readable(row) for row in rows[:SAMPLE_ROWS]]}


def _readable(row: Row) -> Row:
    # For people, not for rebuilding: any value JSON cannot write is shown as its str().
    return json.loads(json.dumps(row, default=str, ensure_ascii=False))


def read_rows_table(store: Store, ref: dict[str, Any], step_name: str) -> pa.Table:
    """The stored table of a reference.

    Raises:
        ConfigError: the cache no longer has the object (removed by ``cache gc`` or ``cache clear``,
            or a pipeline.yaml brought from another machine).
    """
    digest = ref[REFERENCE_KEY]
    try:
        return store.get_table(digest)
    except CorruptObject:
        raise missing_rows_error(store, digest, step_name) from None


def missing_rows_error(store: Store, digest: str, step_name: str) -> ConfigError:
    return ConfigError(
        f"step '{step_name}' refers to inline rows {digest}, which the cache at {store.location} no longer "
        "has (removed by `synthgen cache gc`/`clear`, or another cache): run the pipeline from its Python "
        "script again, which stores them, or pass the cache_dir that holds them"
    )
