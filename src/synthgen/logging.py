"""Logging through loguru; the level comes from ``SYNTHGEN_LOG_LEVEL`` (default INFO)."""

from __future__ import annotations

import os
import sys

from loguru import logger


def setup_logging(level: str | None = None) -> str:
    """Send synthgen's logs to stderr at ``level``; return the level used."""
    level = (level or os.environ.get("SYNTHGEN_LOG_LEVEL") or "INFO").upper()
    logger.remove()
    logger.add(sys.stderr, level=level, format="<green>{time:HH:mm:ss}</green> | <level>{level: <7}</level> | {message}")
    return level
