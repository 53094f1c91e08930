"""``OpenAILLM``: OpenAI, or any OpenAI-compatible server through ``base_url``."""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING, Any, ClassVar

from synthgen.llms.api import APILLM, REQUEST_KEY_HEADER
from synthgen.llms.params import COMPATIBLE_EXTRA, OPENAI_ACCEPTED, openai_params
from synthgen.llms.requests import Request, Result

if TYPE_CHECKING:
    from synthgen.llms.offline import BatchAPI


class OpenAILLM(APILLM):
    """Chat completions from OpenAI or an OpenAI-compatible server (vLLM, llama.cpp, TGI, ...).

    Args:
        model: model name, e.g. ``"gpt-4o-mini"``.
        base_url: e.g. ``"http://127.0.0.1:8000/v1"`` for a local server.
        api_key: defaults to ``$OPENAI_API_KEY``.
    """

    type_name: ClassVar[str] = "openai"
    required_package: ClassVar[tuple[str, str] | None] = ("openai", "openai")
    api_key_env: ClassVar[str] = "OPENAI_API_KEY"
    base_url_env: ClassVar[str] = "OPENAI_BASE_URL"
    default_base_url: ClassVar[str] = "https://api.openai.com/v1"

    @property
    def supports_structured_output(self) -> bool:
        # OpenAI's own API enforces json_schema; an OpenAI-compatible server may not support it
        # (set the task's structured output explicitly for one that does).
        return self.cache_identity()["host"] == "api.openai.com"

    def accepted_generation_kwargs(self) -> frozenset[str]:
        # OpenAI-compatible servers add sampling parameters of their own; `extra_body` passes any other.
        return OPENAI_ACCEPTED | (frozenset() if self.supports_structured_output else COMPATIBLE_EXTRA)

    def _make_client(self, key: str) -> Any:
        # Chat completions go through the lean client (see synthgen.llms.http for why not the SDK).
        from synthgen.llms.http import JSONClient

        return JSONClient(self.resolved_base_url, openai_headers(key), self.timeout)

    async def _send(self, request: Request) -> Result:
        data = await self._client.post("/chat/completions", chat_body(self.model, request),
                                       headers={REQUEST_KEY_HEADER: request.key})
        return completion_result(data)

    def _batch_api(self) -> BatchAPI:
        from synthgen.llms.openai_batch import OpenAIBatchAPI

        return OpenAIBatchAPI(self.model, self._sdk_client(), self.offline_batch_max_requests,
                              self.offline_batch_max_bytes)

    async def _open_sdk(self, key: str) -> Any:
        from openai import AsyncOpenAI

        # Our engine owns retries (with Retry-After and a circuit breaker): the SDK must not retry too.
        return AsyncOpenAI(api_key=key, base_url=self.resolved_base_url, timeout=self.timeout, max_retries=0)


def chat_kwargs(model: str, request: Request) -> dict[str, Any]:
    """``chat.completions.create`` arguments; names OpenAI does not know travel in ``extra_body``."""
    messages = request.input if isinstance(request.input, list) else [{"role": "user", "content": request.input}]
    kwargs: dict[str, Any] = {"model": model, "messages": messages, **openai_params(request.params)}
    if request.schema is not None:
        kwargs["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": schema_name(request.schema), "schema": request.schema},
        }
    return kwargs


def schema_name(schema: dict[str, Any]) -> str:
    """OpenAI takes a schema name of at most 64 letters, digits, ``_`` and ``-``."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", str(schema.get("title") or "output"))[:64]


def chat_body(model: str, request: Request) -> dict[str, Any]:
    """The request body on the wire (what a batch file line holds): ``extra_body`` merged in."""
    kwargs = chat_kwargs(model, request)
    return {**kwargs.pop("extra_body", {}), **kwargs}


def openai_headers(key: str) -> dict[str, str]:
    """Authorization, and the organization and project the SDK would read from the environment."""
    from synthgen import __version__

    headers = {"Authorization": f"Bearer {key}", "User-Agent": f"synthgen/{__version__}"}
    for env, header in (("OPENAI_ORG_ID", "OpenAI-Organization"), ("OPENAI_PROJECT_ID", "OpenAI-Project")):
        if os.environ.get(env):
            headers[header] = os.environ[env]
    return headers


def completion_result(data: dict[str, Any]) -> Result:
    """A chat completion (as plain data) as a :class:`Result`; ``raw`` keeps the whole answer."""
    choices = data.get("choices") or []
    usage = data.get("usage") or {}
    message = (choices[0].get("message") or {}) if choices else {}
    return Result(
        message.get("content"),
        input_tokens=usage.get("prompt_tokens") or 0,
        output_tokens=usage.get("completion_tokens") or 0,
        raw=data,
    )
