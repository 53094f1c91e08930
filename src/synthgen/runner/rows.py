"""A step's output rows against its contract: dicts, with every declared output; and which rows failed.

A failed row stays in the dataset (its outputs ``None``, the error in ``synthgen_metadata.error_<step>``)
and is listed in the batch's record, so the batch counts as *finished with failures*: a rerun computes
it again (the row's successful neighbours come from the request cache) instead of keeping the ``None``.
"""

from __future__ import annotations

from itertools import repeat
from typing import Any

from synthgen.errors import StepError
from synthgen.steps.base import normalize_columns
from synthgen.tasks.base import METADATA_COLUMN

RowFailure = tuple[int, str]  # (row index in the batch's output, error)


def check_rows(step_name: str, rows: list[Any]) -> None:
    """Every row is a dict.

    Raises:
        StepError: one line naming the step and the type it yielded instead.
    """
    for row in rows:
        if not isinstance(row, dict):
            raise StepError(step_name, f"process() yielded a {type(row).__name__} ({_short(row)}) where a row "
                                       "(a dict of column -> value) was expected: yield lists of dicts")


def failed_rows(step: Any, rows: list[dict[str, Any]]) -> list[RowFailure]:
    """The rows of ``rows`` that failed in ``step``, with their errors.

    A row missing a required declared output column is made a failed row here: the column is added as
    ``None`` and the error names the step and the column.
    """
    name = str(step.name)
    required = [c for c, needed in normalize_columns(step.outputs).items() if needed]  # in declared order
    # Set and C-level lookups, not a Python loop over columns per row: this runs on every batch.
    needed = set(required)
    for row in [row for row in rows if not row.keys() >= needed] if needed else []:
        _record_missing(name, row, [c for c in required if c not in row])
    key = f"error_{name}"
    metas = list(map(dict.get, rows, repeat(METADATA_COLUMN)))
    if not any(metas):  # in C: most batches have no row with metadata, let alone an error
        return []
    return [(i, str(meta[key])) for i, meta in enumerate(metas) if isinstance(meta, dict) and meta.get(key)]


def _record_missing(step_name: str, row: dict[str, Any], missing: list[str]) -> None:
    listed = ", ".join(f"'{c}'" for c in missing)
    error = (f"step '{step_name}' did not produce its declared output column(s) {listed} for this row: "
             "its process() must set every column in `outputs` (declare optional ones as {name: False})")
    row.update(dict.fromkeys(missing))
    meta = row.get(METADATA_COLUMN)
    meta = dict(meta) if isinstance(meta, dict) else {}
    if not meta.get(f"error_{step_name}"):
        meta[f"error_{step_name}"] = error
    row[METADATA_COLUMN] = meta


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
