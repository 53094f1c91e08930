"""Anthropic's Messages wire format as plain data: request bodies and headers, answers as :class:`Result`.

Shared by the online client (:mod:`synthgen.llms.anthropic`) and message batches
(:mod:`synthgen.llms.anthropic_batch`), which send the same parameters per request.
"""

from __future__ import annotations

import json
from typing import Any

from synthgen.llms.params import anthropic_params
from synthgen.llms.requests import Request, Result
from synthgen.version import USER_AGENT

_TOOL = "structured_output"
API_VERSION = "2023-06-01"  # the Messages API version every SDK release so far sends


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
