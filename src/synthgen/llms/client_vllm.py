"""``ClientvLLM``: a running vLLM server (``vllm serve``) through its OpenAI-compatible routes."""

from __future__ import annotations

import json
import urllib.request
from typing import Annotated, Any, ClassVar

from synthgen.errors import LLMError
from synthgen.fields import Fingerprint
from synthgen.llms.compatible import OpenAICompatibleLLM


class ClientvLLM(OpenAICompatibleLLM):
    """Chat completions from a vLLM server (unlike :class:`~synthgen.llms.vllm.vLLM`, which loads the
    model in the step's own process).

    Args:
        base_url: the server, e.g. ``"http://gpu-box:8000/v1"`` (default ``http://localhost:8000/v1``).
        model: the served model; empty asks the server (``GET /v1/models``) for the first one it serves.
        tokenizer: accepted for distilabel's scripts; the server applies its own chat template.
        api_key: defaults to ``$VLLM_API_KEY`` (a server started with ``--api-key``); none is needed otherwise.
    """

    type_name: ClassVar[str] = "client_vllm"
    api_key_env: ClassVar[str] = "VLLM_API_KEY"
    default_base_url: ClassVar[str] = "http://localhost:8000/v1"
    key_optional: ClassVar[bool] = True

    model: str = ""
    tokenizer: Annotated[str | None, Fingerprint.IGNORE] = None  # the served model decides, not the tokenizer

    def cache_identity(self) -> dict[str, Any]:
        self._ensure_model()
        return super().cache_identity()

    def fingerprint_params(self) -> dict[str, Any]:
        self._ensure_model()  # the served model, not "", decides the answers
        return super().fingerprint_params()

    def load(self) -> None:
        self._ensure_model()
        super().load()

    def _ensure_model(self) -> None:
        if not self.model:
            self.model = served_model(self.resolved_base_url, self._resolve_key(), self.timeout)


def served_model(base_url: str, key: str, timeout: float) -> str:
    """The first model a server lists at ``GET <base_url>/models``.

    Raises:
        LLMError: the server cannot be reached or serves no model.
    """
    request = urllib.request.Request(f"{base_url.rstrip('/')}/models", headers={"Authorization": f"Bearer {key}"})
    try:
        with urllib.request.urlopen(request, timeout=min(timeout, 30)) as response:  # noqa: S310 - user's URL
            models = json.load(response).get("data") or []
    except (OSError, ValueError) as exc:
        raise LLMError(f"client_vllm: cannot ask {base_url}/models which model the server serves ({exc}): "
                       "start the server, or pass model=...") from None
    if not models:
        raise LLMError(f"client_vllm: the server at {base_url} lists no model: pass model=...")
    return str(models[0]["id"])
