"""``AnthropicLLM``: Claude models through the Messages API."""

from __future__ import annotations

import json
from typing import Any, ClassVar

from synthgen.llms.api import APILLM
from synthgen.llms.params import anthropic_params
from synthgen.llms.requests import Request, Result

_TOOL = "structured_output"


class AnthropicLLM(APILLM):
    """Messages from Anthropic (or a compatible server via ``base_url``).

    Structured output uses tool use: the schema is a tool the model is forced to call, and the tool's
    input is the parsed object.

    Args:
        model: model name, e.g. ``"claude-3-5-haiku-latest"``.
        api_key: defaults to ``$ANTHROPIC_API_KEY``.
        base_url: another server speaking the Messages API.
    """

    type_name: ClassVar[str] = "anthropic"
    required_package: ClassVar[tuple[str, str] | None] = ("anthropic", "anthropic")
    api_key_env: ClassVar[str] = "ANTHROPIC_API_KEY"

    def _make_client(self, key: str) -> Any:
        from anthropic import AsyncAnthropic

        return AsyncAnthropic(api_key=key, base_url=self.base_url, timeout=self.timeout, max_retries=0)

    async def _send(self, request: Request) -> Result:
        system, messages = split_system(request.input)
        kwargs = anthropic_params(request.params)
        if system:
            kwargs["system"] = system
        if request.schema is not None:
            kwargs["tools"] = [{"name": _TOOL, "description": "Return the answer in this structure.",
                                "input_schema": request.schema}]
            kwargs["tool_choice"] = {"type": "tool", "name": _TOOL}
        response = await self._client.messages.create(model=self.model, messages=messages,
            extra_headers={"X-Synthgen-Request-Key": request.key}, **kwargs)
        return Result(_text_of(response.content), input_tokens=response.usage.input_tokens or 0,
                      output_tokens=response.usage.output_tokens or 0)


def split_system(input: Any) -> tuple[str | None, list[dict[str, Any]]]:
    """Anthropic takes the system prompt apart from the messages."""
    if isinstance(input, str):
        return None, [{"role": "user", "content": input}]
    system = "\n".join(m["content"] for m in input if m["role"] == "system") or None
    return system, [{"role": m["role"], "content": m["content"]} for m in input if m["role"] != "system"]


def _text_of(blocks: list[Any]) -> str | None:
    for block in blocks:
        if getattr(block, "type", None) == "tool_use":
            return json.dumps(block.input)
    texts = [block.text for block in blocks if getattr(block, "type", None) == "text"]
    return "".join(texts) if texts else None
