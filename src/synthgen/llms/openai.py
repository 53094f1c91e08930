"""``OpenAILLM``: OpenAI, or any OpenAI-compatible server through ``base_url``."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, ClassVar

from synthgen.llms.api import APILLM
from synthgen.llms.params import openai_params
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
    default_host: ClassVar[str | None] = "api.openai.com"

    @property
    def supports_structured_output(self) -> bool:
        # OpenAI's own API enforces json_schema; an OpenAI-compatible server may not support it
        # (set the task's structured output explicitly for one that does).
        return self.cache_identity()["host"] == self.default_host

    def _make_client(self, key: str) -> Any:
        from openai import AsyncOpenAI

        # Our engine owns retries (with Retry-After and a circuit breaker): the SDK must not retry too.
        return AsyncOpenAI(api_key=key, base_url=self.base_url, timeout=self.timeout, max_retries=0)

    async def _send(self, request: Request) -> Result:
        response = await self._client.chat.completions.create(
            **chat_kwargs(self.model, request), extra_headers={"X-Synthgen-Request-Key": request.key})
        usage = response.usage  # attributes, not model_dump(): this runs for every request
        return Result(response.choices[0].message.content if response.choices else None,
                      input_tokens=getattr(usage, "prompt_tokens", 0) or 0,
                      output_tokens=getattr(usage, "completion_tokens", 0) or 0)

    def _batch_api(self) -> BatchAPI:
        from synthgen.llms.openai_batch import OpenAIBatchAPI

        return OpenAIBatchAPI(self.model, self._client, self.offline_batch_max_requests, self.offline_batch_max_bytes)


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


def completion_result(data: dict[str, Any]) -> Result:
    """A chat completion (as plain data) as a :class:`Result`."""
    choices = data.get("choices") or []
    usage = data.get("usage") or {}
    return Result(
        choices[0]["message"].get("content") if choices else None,
        input_tokens=usage.get("prompt_tokens") or 0,
        output_tokens=usage.get("completion_tokens") or 0,
    )
