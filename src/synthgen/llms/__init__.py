"""LLM backends. Importing this package imports no backend SDK: classes load on first access."""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "LLM": "synthgen.llms.base",
    "APILLM": "synthgen.llms.api",
    "OpenAILLM": "synthgen.llms.openai",
    "AnthropicLLM": "synthgen.llms.anthropic",
    "vLLM": "synthgen.llms.vllm",
    "LlamaCppLLM": "synthgen.llms.llamacpp",
    "InferenceEndpointsLLM": "synthgen.llms.inference_endpoints",
    "MistralLLM": "synthgen.llms.mistral",
    "ClientvLLM": "synthgen.llms.client_vllm",
    "OllamaLLM": "synthgen.llms.ollama",
    "RequestEngine": "synthgen.llms.engine",
    "GenerateOutput": "synthgen.llms.requests",
    "RawPrompt": "synthgen.llms.requests",
    "Embeddings": "synthgen.llms.embeddings",
    "OpenAIEmbeddings": "synthgen.llms.openai_embeddings",
    "LlamaCppEmbeddings": "synthgen.llms.llamacpp_embeddings",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'synthgen.llms' has no attribute {name!r}")
