"""``OpenAIEmbeddings``: ``/v1/embeddings`` of OpenAI or any OpenAI-compatible server.

Plain HTTP from the standard library: an embeddings call is one request per batch of texts, so the
request engine's window and the SDK would add nothing but a dependency.
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from typing import Annotated, Any, ClassVar
from urllib.parse import urlparse

from pydantic import Field, SecretStr

from synthgen.errors import LLMError
from synthgen.fields import Fingerprint
from synthgen.llms.embeddings import Embeddings

_LOOPBACK = {"127.0.0.1", "localhost", "::1"}
_RETRY_STATUS = {408, 409, 429, 500, 502, 503, 504}


class OpenAIEmbeddings(Embeddings):
    """Embeddings from OpenAI's API or an OpenAI-compatible server (vLLM, llama.cpp, TEI, Ollama, ...).

    Args:
        model: e.g. ``"text-embedding-3-small"``.
        base_url: e.g. ``"http://127.0.0.1:8000/v1"``; default ``$OPENAI_BASE_URL`` or OpenAI's.
        api_key: defaults to ``$OPENAI_API_KEY`` (not needed for a server on this machine). Never dumped.
        dimensions: ask for shorter vectors (models that support it).
        timeout / max_retries: per request; 429 and 5xx are retried with backoff.
    """

    type_name: ClassVar[str] = "openai_embeddings"

    model: str
    base_url: str | None = None
    api_key: SecretStr | None = None
    dimensions: int | None = Field(default=None, ge=1)
    timeout: Annotated[float, Fingerprint.IGNORE] = 120.0
    max_retries: Annotated[int, Fingerprint.IGNORE] = Field(default=3, ge=0)

    @property
    def model_name(self) -> str:
        return self.model

    @property
    def resolved_base_url(self) -> str:
        """``base_url``, else ``$OPENAI_BASE_URL``, else OpenAI's API."""
        return (self.base_url or os.environ.get("OPENAI_BASE_URL") or "https://api.openai.com/v1").rstrip("/")

    def fingerprint_params(self) -> dict[str, Any]:
        params = super().fingerprint_params()
        params["base_url"] = urlparse(self.resolved_base_url).hostname  # the host serves the model, not the port
        return params

    def preflight(self) -> None:
        self.resolve_key()

    def resolve_key(self) -> str:
        """The API key.

        Raises:
            LLMError: no key is set and the server is not on this machine.
        """
        if self.api_key is not None:
            return self.api_key.get_secret_value()
        key = os.environ.get("OPENAI_API_KEY")
        if not key and urlparse(self.resolved_base_url).hostname in _LOOPBACK:
            return "not-needed"
        if not key:
            raise LLMError(f"no API key for the openai_embeddings model '{self.model}': set the OPENAI_API_KEY "
                           "environment variable or pass api_key=...")
        return key

    def embed(self, texts: list[str]) -> list[list[float]]:
        body: dict[str, Any] = {"model": self.model, "input": texts}
        if self.dimensions is not None:
            body["dimensions"] = self.dimensions
        data = self._post(body)
        items = sorted(data.get("data") or [], key=lambda item: item.get("index", 0))
        if len(items) != len(texts):
            raise LLMError(f"the embeddings server answered {len(items)} vectors for {len(texts)} texts")
        return [list(map(float, item["embedding"])) for item in items]

    def _post(self, body: dict[str, Any]) -> dict[str, Any]:
        request = urllib.request.Request(f"{self.resolved_base_url}/embeddings", data=json.dumps(body).encode(),
                                         headers={"Authorization": f"Bearer {self.resolve_key()}",
                                                  "Content-Type": "application/json"})
        for attempt in range(self.max_retries + 1):
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    return dict(json.loads(response.read()))
            except urllib.error.HTTPError as exc:
                if exc.code not in _RETRY_STATUS or attempt == self.max_retries:
                    raise LLMError(f"the embeddings server at {self.resolved_base_url} answered {exc.code}: "
                                   f"{exc.read()[:200].decode(errors='replace')}") from None
            except (urllib.error.URLError, TimeoutError) as exc:
                if attempt == self.max_retries:
                    raise LLMError(f"cannot reach the embeddings server at {self.resolved_base_url}: {exc}") from None
            time.sleep(min(2 ** attempt, 30) * 0.5)
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises
