"""Checkpoints: export the leaf datasets written so far while a run goes on.

Each export is a folder that ``Distiset.load_from_disk`` reads, with a ``manifest.json``
(``rows``, ``created_at``, ``signature``). Subclass :class:`CheckpointStrategy` and override
:meth:`should_export` to decide when (on a schedule, on a signal, ...).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

import fsspec


@dataclass
class CheckpointStrategy:
    """When to export.

    Args:
        every_n_rows: export each time this many more leaf rows were written.
        every_seconds: export at least this often.
        extra_params: passed to the writer, e.g. ``{"storage_options": {...}}`` for a cloud bucket.
    """

    every_n_rows: int | None = None
    every_seconds: float | None = None
    extra_params: dict[str, Any] = field(default_factory=dict)
    _last_rows: int = field(default=0, init=False, repr=False)
    _last_time: float = field(default_factory=time.monotonic, init=False, repr=False)

    def should_export(self, rows: int, seconds_since_last: float) -> bool:
        """Return True when the rows written so far should be exported now."""
        if self.every_n_rows and rows - self._last_rows >= self.every_n_rows:
            return True
        return bool(self.every_seconds and seconds_since_last >= self.every_seconds and rows > self._last_rows)

    def maybe_export(self, rows: int, export: Any) -> None:
        if self.should_export(rows, time.monotonic() - self._last_time):
            export()
            self._last_rows, self._last_time = rows, time.monotonic()


def export_checkpoint(distiset: Any, path: str, signature: str, rows: int, extra: dict[str, Any]) -> str:
    """Write one export under ``path/<timestamp>-<rows>/`` and return its location."""
    target = f"{path.rstrip('/')}/{time.strftime('%Y%m%dT%H%M%S')}-{rows:09d}"
    storage_options = extra.get("storage_options", {})
    distiset.save_to_disk(target, storage_options=storage_options)
    fs, root = fsspec.core.url_to_fs(target, **storage_options)
    with fs.open(f"{root}/manifest.json", "w") as fh:
        json.dump({"rows": rows, "created_at": time.time(), "signature": signature}, fh)
    return target
