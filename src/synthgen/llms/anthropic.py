"""``AnthropicLLM``: Claude models through the Messages API.

Messages go over synthgen's own JSON client (:mod:`synthgen.llms.http`), with a body built here from the
request, so an ``anthropic`` SDK release that changes ``messages.create``'s signature cannot break
generation. The SDK is used only for message batches (see :mod:`synthgen.llms.anthropic_batch`).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, ClassVar

from synthgen.llms.api import APILLM, REQUEST_KEY_HEADER
from synthgen.llms.params import ANTHROPIC_ACCEPTED, anthropic_params
from synthgen.llms.requests import Request, Result
from synthgen.version import USER_AGENT

if TYPE_CHECKING:
    from synthgen.llms.offline import BatchAPI

_TOOL = "structured_output"
API_VERSION = "2023-06-01"  # the Messages API version every SDK release so far sends


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
    base_url_env: ClassVar[str] = "ANTHROPIC_BASE_URL"
    default_base_url: ClassVar[str] = "https://api.anthropic.com"

    @property
    def supports_structured_output(self) -> bool:
        return True

    def accepted_generation_kwargs(self) -> frozenset[str]:
        return ANTHROPIC_ACCEPTED

    def _make_client(self, key: str) -> Any:
        from synthgen.llms.http import JSONClient

        return JSONClient(self.resolved_base_url, anthropic_headers(key), self.timeout)

    async def _send(self, request: Request) -> Result:
        data = await self._client.post("/v1/messages", message_params(self.model, request),
                                       headers={REQUEST_KEY_HEADER: request.key})
        return message_result(data)

    def _batch_api(self) -> BatchAPI:
        from synthgen.llms.anthropic_batch import AnthropicBatchAPI

        return AnthropicBatchAPI(self.model, self._sdk_client(), self.offline_batch_max_requests,
                                 self.offline_batch_max_bytes)

    async def _open_sdk(self, key: str) -> Any:
        from anthropic import AsyncAnthropic

        # Our engine owns retries (with Retry-After and a circuit breaker): the SDK must not retry too.
        return AsyncAnthropic(api_key=key, base_url=self.resolved_base_url, timeout=self.timeout, max_retries=0)


def anthropic_headers(key: str) -> dict[str, str]:
    """The key and the API version, as the SDK sends them."""
    return {"x-api-key": key, "anthropic-version": API_VERSION, "User-Agent": USER_AGENT}


def message_params(model: str, request: Request) -> dict[str, Any]:
    """The Messages API body of a request, the same online and in a message batch.

    ``generation_kwargs`` map to ``max_tokens``, ``temperature``, ``top_p``, ``top_k``, ``stop_sequences``
    and ``system``; structured output is a tool the model is forced to call.
    """
    chat_system, messages = split_system(request.input)
    params: dict[str, Any] = {"model": model, "messages": messages, **anthropic_params(request.params)}
    system = "\n".join(s for s in (request.params.get("system"), chat_system) if s)
    if system:
        params["system"] = system
    if request.schema is not None:
        params["tools"] = [{"name": _TOOL, "description": "Return the answer in this structure.",
                            "input_schema": request.schema}]
        params["tool_choice"] = {"type": "tool", "name": _TOOL}
    return params


def message_result(message: dict[str, Any]) -> Result:
    """A Messages API response (as plain data) as a :class:`Result`; ``raw`` keeps the whole answer."""
    usage = message.get("usage") or {}
    return Result(_text_of(message.get("content") or []), input_tokens=usage.get("input_tokens") or 0,
                  output_tokens=usage.get("output_tokens") or 0, raw=message)


def split_system(input: Any) -> tuple[str | None, list[dict[str, Any]]]:
    """Anthropic takes the system prompt apart from the messages."""
    if isinstance(input, str):
        return None, [{"role": "user", "content": input}]
    system = "\n".join(m["content"] for m in input if m["role"] == "system") or None
    return system, [{"role": m["role"], "content": m["content"]} for m in input if m["role"] != "system"]


def _text_of(blocks: list[dict[str, Any]]) -> str | None:
    for block in blocks:
        if block.get("type") == "tool_use":
            return json.dumps(block.get("input"))
    texts = [block.get("text") or "" for block in blocks if block.get("type") == "text"]
    return "".join(texts) if texts else None
