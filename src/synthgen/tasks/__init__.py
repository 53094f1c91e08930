"""LLM tasks. Classes load on first access, so importing this package imports no LLM SDK."""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Task": "synthgen.tasks.base",
    "TextGeneration": "synthgen.tasks.text_generation",
    "ChatGeneration": "synthgen.tasks.chat_generation",
    "UltraFeedback": "synthgen.tasks.ultrafeedback",
    "SelfInstruct": "synthgen.tasks.self_instruct",
    "EvolInstruct": "synthgen.tasks.evol_instruct",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'synthgen.tasks' has no attribute {name!r}")
