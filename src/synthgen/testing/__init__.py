"""What synthgen's own tests use, shipped for plugin authors: a fake LLM and compatible test servers.

Imports are lazy so ``import synthgen.testing`` does not start importing aiohttp.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "FakeLLM": "synthgen.testing.fake_llm",
    "FakeEmbeddings": "synthgen.testing.fake_embeddings",
    "OpenAITestServer": "synthgen.testing.servers.openai",
    "AnthropicTestServer": "synthgen.testing.servers.anthropic",
    "TestServerBase": "synthgen.testing.servers.base",
    "Fault": "synthgen.testing.servers.base",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'synthgen.testing' has no attribute {name!r}")
