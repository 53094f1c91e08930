"""``OpenAICompatibleLLM``: the base of named presets over the OpenAI-compatible chat completions route.

A preset (Mistral, Hugging Face Inference Endpoints, a vLLM or Ollama server) differs from
:class:`~synthgen.llms.openai.OpenAILLM` only in its server, its key's environment variable and the
names distilabel gave its arguments. Requests go through the same engine (window of requests in
flight, retries, rate limits) and the same request cache.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, ClassVar
from urllib.parse import urlparse

from synthgen.errors import LLMError
from synthgen.llms.openai import OpenAILLM

if TYPE_CHECKING:
    from synthgen.llms.offline import BatchAPI


class OpenAICompatibleLLM(OpenAILLM):
    """An OpenAI-compatible server under its own name; chat completions over the lean HTTP client.

    Subclasses set ``type_name``, ``api_key_env`` and ``default_base_url``; ``key_optional`` for
    servers that take no key (a missing key then sends a placeholder, wherever the server runs).
    """

    required_package: ClassVar[tuple[str, str] | None] = ("aiohttp", "aiohttp")
    base_url_env: ClassVar[str] = ""  # never OPENAI_BASE_URL: that one points at another provider
    key_optional: ClassVar[bool] = False

    @property
    def supports_structured_output(self) -> bool:
        return False  # ask for JSON in the prompt; a task may still set structured_output explicitly

    def _resolve_key(self) -> str:
        if self.key_optional and self.api_key is None and not os.environ.get(self.api_key_env):
            return "not-needed"
        return super()._resolve_key()

    def _batch_api(self) -> BatchAPI:
        raise LLMError(f"the {self.type_name} backend has no offline batch API here: "
                       "set use_offline_batch_generation=False")


def with_v1(url: str) -> str:
    """``http://host:8080`` -> ``http://host:8080/v1``: the OpenAI-compatible routes live under ``/v1``."""
    url = url.rstrip("/")
    return url if urlparse(url).path.endswith("/v1") else f"{url}/v1"
