"""An OpenAI-compatible test server: ``/v1/chat/completions``, ``/v1/completions``, ``/v1/embeddings``,
``/v1/models``, and the files and batches endpoints of the Batch API."""

from __future__ import annotations

import json
import time
from typing import Any

from aiohttp import web

from synthgen.llms.structured import example_for
from synthgen.testing.replies import bag_of_words_vector
from synthgen.testing.servers.base import TestServerBase, count_tokens, truncate
from synthgen.testing.servers.batches import BatchJobs
from synthgen.testing.servers.openai_batches import openai_batch_routes


class OpenAITestServer(TestServerBase):
    """Answers like OpenAI's API, deterministically (see :class:`TestServerBase` for the options).

    With ``response_format`` of type ``json_schema`` and no ``reply_fn`` it answers an object that
    follows the schema. Batch jobs behave as ``batches`` says (delay, partial failures, expiry).
    """

    def __init__(self, model: str = "test-model", batches: BatchJobs | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.model = model
        self.batches = batches or BatchJobs()
        self.files: dict[str, dict[str, Any]] = {}
        self.routes.update({
            ("POST", "/v1/chat/completions"): self.chat_completions,
            ("POST", "/v1/completions"): self.completions,
            ("GET", "/v1/models"): self.models,
            ("POST", "/v1/embeddings"): self.embeddings,
            **openai_batch_routes(self),
        })

    async def chat_completions(self, request: web.Request, body: dict[str, Any]) -> web.Response:
        return web.json_response(self.chat_completion(body))

    def chat_completion(self, body: dict[str, Any]) -> dict[str, Any]:
        """The chat completion answering ``body`` (online, or inside a batch job)."""
        messages = body.get("messages", [])
        prompt = "\n".join(str(m.get("content", "")) for m in messages)
        last = str(messages[-1].get("content", "")) if messages else ""
        text = self._text(body, last)
        text, cut = truncate(text, body.get("max_tokens") or body.get("max_completion_tokens"))
        choice = {"index": 0, "message": {"role": "assistant", "content": text},
                  "finish_reason": "length" if cut else "stop", "logprobs": None}
        return self._envelope("chat.completion", choice, prompt, text)

    async def completions(self, request: web.Request, body: dict[str, Any]) -> web.Response:
        prompt = body.get("prompt", "")
        prompt = prompt if isinstance(prompt, str) else "\n".join(prompt)
        text, cut = truncate(self.reply(body, prompt), body.get("max_tokens"))
        choice = {"index": 0, "text": text, "finish_reason": "length" if cut else "stop", "logprobs": None}
        return web.json_response(self._envelope("text_completion", choice, prompt, text))

    async def embeddings(self, request: web.Request, body: dict[str, Any]) -> web.Response:
        texts = body.get("input", [])
        texts = [texts] if isinstance(texts, str) else list(texts)
        data = [{"object": "embedding", "index": i, "embedding": bag_of_words_vector(str(t))}
                for i, t in enumerate(texts)]
        tokens = sum(count_tokens(str(t)) for t in texts)
        return web.json_response({"object": "list", "data": data, "model": body.get("model", self.model),
                                  "usage": {"prompt_tokens": tokens, "total_tokens": tokens}})

    async def models(self, request: web.Request, body: dict[str, Any]) -> web.Response:
        return web.json_response({"object": "list", "data": [
            {"id": self.model, "object": "model", "created": 0, "owned_by": "synthgen"}]})

    def _text(self, body: dict[str, Any], last: str) -> str:
        fmt = body.get("response_format") or {}
        if fmt.get("type") == "json_schema" and self.reply_fn is None:
            return json.dumps(example_for(fmt.get("json_schema", {}).get("schema", {})))
        return self.reply(body, last)

    def _envelope(self, kind: str, choice: dict[str, Any], prompt: str, text: str) -> dict[str, Any]:
        usage = {"prompt_tokens": count_tokens(prompt), "completion_tokens": count_tokens(text)}
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        return {"id": f"cmpl-{self.counters.requests}", "object": kind, "created": int(time.time()),
                "model": self.model, "choices": [choice], "usage": usage}

