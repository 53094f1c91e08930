"""A cache write that fails (disk full, quota, read-only, permissions) as one line that says what to do.

A raw ``OSError: [Errno 28]`` from a worker tells a user neither which disk nor how to go on. Every
write of the runner goes through :func:`cache_writes`, which turns it into a :class:`CacheError` naming
what failed, where, the space left and needed, and the fix; nothing already written is lost, so the
message ends with "rerun to resume".
"""

from __future__ import annotations

import errno
import json
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from synthgen.errors import CacheError

_SPACE = {errno.ENOSPC, errno.EDQUOT}


@contextmanager
def cache_writes(location: str | Path, what: str, payload: Any = None) -> Iterator[None]:
    """Report an ``OSError`` raised inside as a :class:`CacheError` (``payload`` sizes what was written).

    Raises:
        CacheError: a write inside failed.
    """
    try:
        yield
    except OSError as exc:
        raise write_error(exc, location, what, _size(payload)) from exc


def write_error(exc: OSError, location: str | Path, what: str, needed: int | None = None) -> CacheError:
    """The one-line error for a failed cache write."""
    where = exc.filename or location
    if exc.errno in _SPACE:
        free = _free(where) or _free(location)
        room = f"{_mb(free)} free there" if free is not None else "the disk is full"
        need = f"; this write needed about {_mb(needed)}" if needed else ""
        return CacheError(
            f"cannot write {what} to the cache: {exc.strerror} ({where}; {room}{need}). Free space on that "
            "disk (`synthgen cache gc` drops what no pipeline uses) or set SYNTHGEN_CACHE_DIR to a disk with "
            "room, then rerun the same command: what was written is kept and the run resumes from it"
        )
    return CacheError(
        f"cannot write {what} to the cache: {exc.strerror or exc} ({where}). Check that the cache folder is "
        "writable by this user, or set SYNTHGEN_CACHE_DIR to one that is, then rerun the same command"
    )


def _free(path: str | Path) -> int | None:
    path = Path(str(path))
    for candidate in (path, *path.parents):
        try:
            return shutil.disk_usage(candidate).free
        except OSError:
            continue
    return None


def _size(payload: Any) -> int | None:
    if payload is None:
        return None
    try:
        return len(json.dumps(payload, default=str))
    except (TypeError, ValueError):
        return None


def _mb(n: int | None) -> str:
    if n is None:
        return "?"
    return f"{n / 1e6:,.1f} MB" if n >= 100_000 else f"{n / 1e3:,.1f} kB"
