"""The run folder: what a run tells its step replicas wherever they run.

Workers ignore SIGINT (the main process decides how Ctrl+C ends a run), so a step that waits a long
time inside one batch — an offline batch LLM polling its jobs — needs another way to hear it. The
runner names a run folder in each batch task (``<pipeline dir>/.run``, emptied when a run starts; in
the bucket for an object-storage cache); the first Ctrl+C creates a ``stop`` blob in it, and LLM
replicas keep their token spending there (:mod:`synthgen.llms.spend`). A folder works the same for a
spawned process and a Ray actor on another node, since both already reach the cache.
"""

from __future__ import annotations

import time

from synthgen.blobs import Blobs, blobs_at

_RUN: Blobs | None = None
_POLL = 0.2
_REMOTE_POLL = 1.0  # a look at object storage is a request: at most one a second per process
_STOP = "stop"
_seen_stop = False
_looked = 0.0


def new_run_dir(location: str) -> str:
    """Empty the run folder at ``location`` for a new run (what an earlier run left means nothing)."""
    global _seen_stop
    blobs_at(location).clear()
    _seen_stop = False
    return location


def watch(run_dir: str | None) -> None:
    """Make this process look at ``run_dir`` (set by the replica for each batch)."""
    global _RUN, _seen_stop, _looked
    if (_RUN.location if _RUN else None) != (run_dir or None):
        _RUN = blobs_at(run_dir) if run_dir else None
        _seen_stop, _looked = False, 0.0


def run_dir() -> Blobs | None:
    """The run folder this process watches; ``None`` outside a run (a direct ``generate()`` call)."""
    return _RUN


def request_stop(run_dir: str) -> None:
    """Ask every replica of the run to stop waiting (the first Ctrl+C)."""
    blobs_at(run_dir).write(_STOP, b"", sync=False)


def requested() -> bool:
    """Whether the run asked its steps to stop waiting."""
    global _seen_stop, _looked
    if _RUN is None:
        return False
    if not _RUN.remote:
        return _RUN.exists(_STOP)
    if not _seen_stop and time.monotonic() - _looked >= _REMOTE_POLL:
        _looked = time.monotonic()
        _seen_stop = _RUN.exists(_STOP)  # a stop is never taken back within a run
    return _seen_stop


def sleep(seconds: float) -> bool:
    """Sleep up to ``seconds``; return ``True`` at once when a stop is requested."""
    deadline = time.monotonic() + seconds
    while not requested():
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        time.sleep(min(_POLL, left))
    return True
