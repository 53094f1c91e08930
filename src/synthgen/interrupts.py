"""The run folder: what a run tells its step replicas wherever they run.

Workers ignore SIGINT (the main process decides how Ctrl+C ends a run), so a step that waits a long
time inside one batch — an offline batch LLM polling its jobs — needs another way to hear it. The
runner names a run folder in each batch task (``<pipeline dir>/.run``, emptied when a run starts); the
first Ctrl+C creates a ``stop`` file in it, and LLM replicas keep their token spending there
(:mod:`synthgen.llms.spend`). A folder works the same for a spawned process and a Ray actor, since both
already share the cache folder.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

_RUN_DIR: str | None = None
_POLL = 0.2
_STOP = "stop"


def new_run_dir(pipeline_dir: Path) -> Path:
    """Empty the run folder of ``pipeline_dir`` for a new run (what an earlier run left means nothing)."""
    folder = pipeline_dir / ".run"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def watch(run_dir: str | None) -> None:
    """Make this process look at ``run_dir`` (set by the replica for each batch)."""
    global _RUN_DIR
    _RUN_DIR = run_dir or None


def run_dir() -> Path | None:
    """The run folder this process watches; ``None`` outside a run (a direct ``generate()`` call)."""
    return Path(_RUN_DIR) if _RUN_DIR else None


def request_stop(run_dir: str) -> None:
    """Ask every replica of the run to stop waiting (the first Ctrl+C)."""
    Path(run_dir, _STOP).touch()


def requested() -> bool:
    """Whether the run asked its steps to stop waiting."""
    return _RUN_DIR is not None and os.path.exists(os.path.join(_RUN_DIR, _STOP))


def sleep(seconds: float) -> bool:
    """Sleep up to ``seconds``; return ``True`` at once when a stop is requested."""
    deadline = time.monotonic() + seconds
    while not requested():
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        time.sleep(min(_POLL, left))
    return True
