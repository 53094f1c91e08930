"""Logging through loguru; the level comes from ``SYNTHGEN_LOG_LEVEL`` (default INFO)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from loguru import logger

_FORMAT = "<green>{time:HH:mm:ss}</green> | <level>{level: <7}</level> | {message}"
_stderr_sink: int | None = None


def log_level(level: str | None = None) -> str:
    """``level``, else ``$SYNTHGEN_LOG_LEVEL``, else INFO (upper case)."""
    return (level or os.environ.get("SYNTHGEN_LOG_LEVEL") or "INFO").upper()


def setup_logging(level: str | None = None) -> str:
    """Send synthgen's logs to stderr at ``level``; return the level used.

    Only the stderr sink is replaced: a file sink (:func:`log_to_file`) added before keeps receiving.
    """
    global _stderr_sink
    level = log_level(level)
    try:
        logger.remove(_stderr_sink if _stderr_sink is not None else 0)  # 0: loguru's own stderr sink
    except ValueError:
        pass  # already removed
    _stderr_sink = logger.add(sys.stderr, level=level, format=_FORMAT)
    return level


@contextmanager
def log_to_file(path: Path, level: str | None = None) -> Iterator[None]:
    """Also write the logs to ``path`` (appended) while the block runs: the Hydra job's log file."""
    sink = logger.add(str(path), level=log_level(level), format="{time:YYYY-MM-DD HH:mm:ss} | {level: <7} | {message}",
                      encoding="utf-8")
    try:
        yield
    finally:
        logger.remove(sink)
