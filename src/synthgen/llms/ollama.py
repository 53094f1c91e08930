"""``OllamaLLM``: an Ollama server through its OpenAI-compatible routes (``<host>/v1``)."""

from __future__ import annotations

import os
from typing import ClassVar

from synthgen.llms.compatible import OpenAICompatibleLLM, with_v1

DEFAULT_HOST = "http://localhost:11434"


class OllamaLLM(OpenAICompatibleLLM):
    """Chat completions from an Ollama server.

    Args:
        model: a model the server has pulled, e.g. ``"llama3.2"``.
        host: the server, e.g. ``"http://gpu-box:11434"``; defaults to ``$OLLAMA_HOST``, then
            ``http://localhost:11434``.
        api_key: Ollama takes none; ``$OLLAMA_API_KEY`` is sent when set (a proxy in front may check it).
    """

    type_name: ClassVar[str] = "ollama"
    api_key_env: ClassVar[str] = "OLLAMA_API_KEY"
    key_optional: ClassVar[bool] = True

    host: str | None = None

    @property
    def resolved_base_url(self) -> str:
        if self.base_url:
            return self.base_url
        host = self.host or os.environ.get("OLLAMA_HOST") or DEFAULT_HOST
        return with_v1(host if "://" in host else f"http://{host}")  # OLLAMA_HOST is often "0.0.0.0:11434"
