"""The step API and the built-in steps.

Built-in steps are imported on first access so ``import synthgen`` stays light (``MinHashDedup``
needs datasketch, the loaders need datasets).
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from synthgen.steps.base import (
    BaseStep,
    Fingerprint,
    GeneratorStep,
    GlobalStep,
    RuntimeParameter,
    Step,
    StepInput,
    StepOutput,
    StepResources,
)
from synthgen.steps.decorator import step

_BUILTINS = {
    "LoadDataFromDicts": "loaders", "LoadDataFromFileSystem": "loaders", "LoadDataFromHub": "loaders",
    "LoadDataFromDisk": "loaders", "KeepColumns": "columns", "CombineOutputs": "columns",
    "ExpandColumns": "columns", "GroupColumns": "columns", "FilterRows": "filtering",
    "DeduplicateExact": "dedup", "MinHashDedup": "dedup", "FormatTextGenerationDPO": "formatting",
    "FormatTextGenerationSFT": "formatting",
    "FormatChatGenerationDPO": "formatting_chat", "FormatChatGenerationSFT": "formatting_chat",
    "MergeColumns": "merge", "TruncateTextColumn": "truncate", "DataSampler": "sampler",
    "EmbeddingDedup": "embedding_dedup",
    "DeitaFiltering": "deita",
    "CombineColumns": "columns", "ConversationTemplate": "conversation",
}

__all__ = ["BaseStep", "Fingerprint", "GeneratorStep", "GlobalStep", "RuntimeParameter", "Step", "StepInput", "StepOutput",
           "StepResources", "step", *_BUILTINS]


def __getattr__(name: str) -> Any:
    if name in _BUILTINS:
        return getattr(import_module(f"synthgen.steps.{_BUILTINS[name]}"), name)
    raise AttributeError(f"module 'synthgen.steps' has no attribute {name!r}")
