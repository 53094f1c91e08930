"""A stop request that reaches step replicas wherever they run.

Workers ignore SIGINT (the main process decides how Ctrl+C ends a run), so a step that waits a long
time inside one batch — an offline batch LLM polling its jobs — needs another way to hear it. The
runner names a stop file in each batch task; the first Ctrl+C creates it. A file works the same for a
spawned process and a Ray actor, since both already share the cache folder.
"""

from __future__ import annotations

import os
import time

_STOP_FILE: str | None = None
_POLL = 0.2


def watch(path: str | None) -> None:
    """Make :func:`requested` in this process look at ``path`` (set by the replica per batch)."""
    global _STOP_FILE
    _STOP_FILE = path or None


def requested() -> bool:
    """Whether the run asked its steps to stop waiting (the first Ctrl+C)."""
    return _STOP_FILE is not None and os.path.exists(_STOP_FILE)


def sleep(seconds: float) -> bool:
    """Sleep up to ``seconds``; return ``True`` at once when a stop is requested."""
    deadline = time.monotonic() + seconds
    while not requested():
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        time.sleep(min(_POLL, left))
    return True
