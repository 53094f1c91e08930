"""The package version, in a module of its own: the backends name it in their User-Agent without
importing the whole ``synthgen`` package (which sits above them)."""

from __future__ import annotations

__version__ = "0.1.0"
USER_AGENT = f"synthgen/{__version__}"
