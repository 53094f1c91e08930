"""``OpenAILLM``: OpenAI, or any OpenAI-compatible server through ``base_url``."""

from __future__ import annotations

from typing import Any, ClassVar

from synthgen.llms.api import APILLM
from synthgen.llms.params import openai_params
from synthgen.llms.requests import Request, Result


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

    def _make_client(self, key: str) -> Any:
        from openai import AsyncOpenAI

        # Our engine owns retries (with Retry-After and a circuit breaker): the SDK must not retry too.
        return AsyncOpenAI(api_key=key, base_url=self.base_url, timeout=self.timeout, max_retries=0)

    async def _send(self, request: Request) -> Result:
        messages = request.input if isinstance(request.input, list) else [{"role": "user", "content": request.input}]
        kwargs = openai_params(request.params)
        if request.schema is not None:
            kwargs["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": str(request.schema.get("title", "output")), "schema": request.schema},
            }
        response = await self._client.chat.completions.create(model=self.model, messages=messages,
            extra_headers={"X-Synthgen-Request-Key": request.key}, **kwargs)
        usage = response.usage
        return Result(
            response.choices[0].message.content if response.choices else None,
            input_tokens=getattr(usage, "prompt_tokens", 0) or 0,
            output_tokens=getattr(usage, "completion_tokens", 0) or 0,
        )
