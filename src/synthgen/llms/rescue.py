"""Paid answers that could not be written to the cache are not lost.

When the cache's disk is full, an LLM answer that just arrived cannot be stored, and the batch that
asked for it then fails to write its rows too: the run stops. Without a rescue, a resume would pay for
every such answer again. Each one is written instead to a rescue folder (``$SYNTHGEN_RESCUE_DIR``, by
default a private folder of this user in the system's temporary directory, usually on another disk),
and the next run moves the rescued answers into its cache before sending anything.

The rescue folder must belong to this user and be private to them: answers read from it are returned
as paid answers, so one that anybody could write to is not used.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path
from typing import Any

from loguru import logger

from synthgen.blobs import write_atomic
from synthgen.records import DamagedRecord, seal, unseal
from synthgen.store import Store

RESCUE_ENV = "SYNTHGEN_RESCUE_DIR"
_REQUESTS = "requests"
_warned = False


def rescue_dir() -> Path:
    """Where answers go when the cache cannot take them."""
    configured = os.environ.get(RESCUE_ENV)
    if configured:
        return Path(configured).expanduser()
    return Path(tempfile.gettempdir()) / f"synthgen-rescue-{os.getuid() if hasattr(os, 'getuid') else 'user'}"


def rescue_answer(key: str, record: dict[str, Any], error: OSError) -> bool:
    """Keep one answer the cache could not take; whether it was kept."""
    folder = rescue_dir()
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not _private(folder):
            raise PermissionError(f"{folder} is not private to this user")
        write_atomic(folder / f"{key}.json", seal({"key": key, "record": record}, f"rescue/{key}"))
    except OSError as exc:
        logger.error(f"an LLM answer could not be written to the cache ({error.strerror}) nor kept in {folder} "
                     f"({exc}): a resumed run pays for it again")
        return False
    global _warned
    if not _warned:  # once per process: a full disk fails every answer after this one too
        _warned = True
        logger.warning(f"LLM answers cannot be written to the cache ({error.strerror}); they are kept in {folder}, "
                       "where the next run takes them back into the cache, unpaid")
    return True


def import_rescued(store: Store) -> int:
    """Move rescued answers into ``store``; how many moved (what cannot be written yet stays)."""
    folder = rescue_dir()
    if not folder.is_dir() or not _private(folder):
        return 0
    moved = 0
    for path in sorted(folder.glob("*.json")):
        entry = _read(path)
        if entry is None:
            path.unlink(missing_ok=True)
            continue
        try:
            store.put_record(_REQUESTS, entry["key"], entry["record"])
        except OSError:
            break  # the cache still has no room: keep the rest for a later run
        path.unlink(missing_ok=True)
        moved += 1
    if moved:
        logger.info(f"{moved} LLM answer(s) rescued by an earlier run (cache full) moved into the cache from {folder}")
    return moved


def _read(path: Path) -> dict[str, Any] | None:
    try:
        entry = unseal(path.read_bytes(), f"rescue/{path.stem}")
    except (OSError, DamagedRecord):
        return None
    ok = isinstance(entry, dict) and isinstance(entry.get("record"), dict) and entry.get("key") == path.stem
    return entry if ok and isinstance(entry["record"].get("text"), str) else None


def _private(folder: Path) -> bool:
    """Owned by this user and closed to everybody else (where the platform has owners)."""
    if not hasattr(os, "getuid"):
        return True
    info = folder.stat()
    return info.st_uid == os.getuid() and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
