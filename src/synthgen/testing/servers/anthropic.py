"""An Anthropic-compatible test server: ``/v1/messages`` (with tool use for structured output) and the
Message Batches API."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from synthgen.llms.structured import example_for
from synthgen.testing.servers.anthropic_batches import anthropic_batch_routes
from synthgen.testing.servers.base import TestServerBase, count_tokens, truncate
from synthgen.testing.servers.batches import BatchJobs

# The top-level fields the Messages API accepts: like the real API, the server rejects any other, so a
# client that puts a parameter in the wrong place fails a test instead of being silently ignored.
MESSAGE_FIELDS = frozenset({
    "model", "messages", "max_tokens", "system", "temperature", "top_p", "top_k", "stop_sequences",
    "metadata", "tools", "tool_choice", "stream", "thinking", "service_tier", "container", "mcp_servers",
})


class AnthropicTestServer(TestServerBase):
    """Answers like Anthropic's Messages API, deterministically.

    A forced tool (``tool_choice`` of type ``tool``) is answered with a ``tool_use`` block whose input
    is ``json.loads(reply_fn(body))`` or an object that follows the tool's schema. Message batches behave
    as ``batches`` says (delay, partial failures, expiry).
    """

    def __init__(self, batches: BatchJobs | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.batches = batches or BatchJobs()
        self.routes.update({("POST", "/v1/messages"): self.messages, **anthropic_batch_routes(self)})

    async def messages(self, request: web.Request, body: dict[str, Any]) -> web.Response:
        problem = self.invalid_request(request, body)
        if problem:
            return self.error_response(400, problem)
        return web.json_response(self.message(body))

    def invalid_request(self, request: web.Request, body: dict[str, Any]) -> str | None:
        """What the real API would reject in this request (a missing header or field, an unknown field)."""
        if "anthropic-version" not in request.headers:
            return "anthropic-version: header is required"
        unknown = sorted(set(body) - MESSAGE_FIELDS)
        if unknown:
            return f"{unknown[0]}: Extra inputs are not permitted"
        missing = [name for name in ("model", "messages", "max_tokens") if name not in body]
        return f"{missing[0]}: Field required" if missing else None

    def message(self, body: dict[str, Any]) -> dict[str, Any]:
        """The message answering ``body`` (online, or inside a message batch)."""
        messages = body.get("messages", [])
        prompt = "\n".join([_text(body.get("system", ""))] + [_text(m.get("content", "")) for m in messages])
        last = _text(messages[-1].get("content", "")) if messages else ""
        content, text, cut = self._content(body, last)
        return {
            "id": f"msg_{self.counters.requests}", "type": "message", "role": "assistant",
            "model": body.get("model", "test-model"), "content": content,
            "stop_reason": "max_tokens" if cut else ("tool_use" if content[0]["type"] == "tool_use" else "end_turn"),
            "stop_sequence": None,
            "usage": {"input_tokens": count_tokens(prompt), "output_tokens": count_tokens(text)},
        }

    def _content(self, body: dict[str, Any], last: str) -> tuple[list[dict[str, Any]], str, bool]:
        choice = body.get("tool_choice") or {}
        if choice.get("type") == "tool":
            tool = next(t for t in body.get("tools", []) if t["name"] == choice["name"])
            data = self._tool_input(body, tool["input_schema"])
            block = {"type": "tool_use", "id": "toolu_1", "name": tool["name"], "input": data}
            return [block], json.dumps(data), False
        text, cut = truncate(self.reply(body, last), body.get("max_tokens"))
        return [{"type": "text", "text": text}], text, cut


    def _tool_input(self, body: dict[str, Any], schema: dict[str, Any]) -> Any:
        """A forced tool call's input: ``reply_fn``'s answer when it is JSON, else an object that follows
        the tool's schema (a reply written for a text answer, such as a shaped judge's, cannot be one)."""
        if self.reply_fn is not None:
            try:
                return json.loads(self.reply_fn(body))
            except ValueError:
                pass
        return example_for(schema)


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "\n".join(b.get("text", "") for b in content if isinstance(b, dict))
