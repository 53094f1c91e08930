"""Logging through loguru; the level comes from ``SYNTHGEN_LOG_LEVEL`` (default INFO)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from loguru import logger

_FORMAT = "<green>{time:HH:mm:ss}</green> | <level>{level: <7}</level> | {message}"
_FILE_FORMAT = "{time:YYYY-MM-DD HH:mm:ss} | {level: <7} | {process} | {message}"
LOG_FILE_ENV = "SYNTHGEN_LOG_FILE"
"""Set while :func:`log_to_file` runs: spawned workers append their logs to the same file."""
_stderr_sink: int | None = None
_file_sinks: dict[str, int] = {}


def log_level(level: str | None = None) -> str:
    """``level``, else ``$SYNTHGEN_LOG_LEVEL``, else INFO (upper case)."""
    return (level or os.environ.get("SYNTHGEN_LOG_LEVEL") or "INFO").upper()


def setup_logging(level: str | None = None) -> str:
    """Send synthgen's logs to stderr at ``level``; return the level used.

    Only the stderr sink is replaced: a file sink (:func:`log_to_file`) added before keeps receiving.
    In a worker spawned during :func:`log_to_file`, the logs also go to that file.
    """
    global _stderr_sink
    level = log_level(level)
    try:
        logger.remove(_stderr_sink if _stderr_sink is not None else 0)  # 0: loguru's own stderr sink
    except ValueError:
        pass  # already removed
    _stderr_sink = logger.add(sys.stderr, level=level, format=_FORMAT)
    inherited = os.environ.get(LOG_FILE_ENV)
    if inherited and inherited not in _file_sinks:
        _file_sinks[inherited] = _add_file_sink(inherited, level)
    return level


@contextmanager
def log_to_file(path: Path, level: str | None = None) -> Iterator[None]:
    """Also write the logs to ``path`` (appended) while the block runs, the spawned workers' included:
    the Hydra job's log file."""
    key, previous = str(path), os.environ.get(LOG_FILE_ENV)
    _file_sinks[key] = _add_file_sink(key, level)
    os.environ[LOG_FILE_ENV] = key
    try:
        yield
    finally:
        logger.remove(_file_sinks.pop(key))
        if previous is None:
            os.environ.pop(LOG_FILE_ENV, None)
        else:
            os.environ[LOG_FILE_ENV] = previous


def _add_file_sink(path: str, level: str | None) -> int:
    # Appended line by line, so the lines of several processes interleave whole.
    return logger.add(path, level=log_level(level), format=_FILE_FORMAT, encoding="utf-8", mode="a", buffering=1)
