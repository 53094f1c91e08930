"""LLM tasks. Classes load on first access, so importing this package imports no LLM SDK."""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Task": "synthgen.tasks.base",
    "TextGeneration": "synthgen.tasks.text_generation",
    "ChatGeneration": "synthgen.tasks.chat_generation",
    "PrometheusEval": "synthgen.tasks.prometheus_eval",
    "QualityScorer": "synthgen.tasks.quality_scorer",
    "ComplexityScorer": "synthgen.tasks.complexity_scorer",
    "EvolQuality": "synthgen.tasks.evol_quality",
    "EvolComplexity": "synthgen.tasks.evol_complexity",
    "TextClassification": "synthgen.tasks.text_classification",
    "GenerateSentencePair": "synthgen.tasks.generate_sentence_pair",
    "CLAIR": "synthgen.tasks.clair",
    "InstructionBacktranslation": "synthgen.tasks.instruction_backtranslation",
    "Genstruct": "synthgen.tasks.genstruct",
    "StructuredGeneration": "synthgen.tasks.structured_generation",
    "Magpie": "synthgen.tasks.magpie",
    "MagpieGenerator": "synthgen.tasks.magpie",
    "GeneratorTask": "synthgen.tasks.generator",
    "EvolComplexityGenerator": "synthgen.tasks.evol_complexity_generator",
    "EmbeddingGeneration": "synthgen.tasks.embedding_generation",
    "EvolInstructGenerator": "synthgen.tasks.evol_instruct_generator",
    "GenerateEmbeddings": "synthgen.tasks.embedding_generation",
    "task": "synthgen.tasks.decorator",
    "UltraFeedback": "synthgen.tasks.ultrafeedback",
    "SelfInstruct": "synthgen.tasks.self_instruct",
    "EvolInstruct": "synthgen.tasks.evol_instruct",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'synthgen.tasks' has no attribute {name!r}")
