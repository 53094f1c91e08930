"""Anthropic's Message Batches API for offline batch generation."""

from __future__ import annotations

import json
from typing import Any, ClassVar

from synthgen.llms.anthropic_wire import message_params, message_result
from synthgen.llms.offline import Chunk, JobStatus, PlatformLimits
from synthgen.llms.requests import Request, Result

CLOCK_SKEW = 300.0


class AnthropicBatchAPI(PlatformLimits):
    """Message batches of Anthropic (or a server that implements them).

    Args:
        model: the model every request names.
        client: an ``anthropic.AsyncAnthropic`` client.
        max_requests / max_bytes: split jobs below the platform's limits.
    """

    MAX_REQUESTS: ClassVar[int] = 100_000  # the platform's limits per message batch
    MAX_BYTES: ClassVar[int] = 256 * 1024 * 1024

    def encode(self, request: Request) -> bytes:
        entry = {"custom_id": request.key, "params": message_params(self.model, request)}
        return json.dumps(entry, ensure_ascii=False).encode()

    async def submit(self, chunk: Chunk, entries: list[bytes]) -> str:
        batch = await self.client.messages.batches.create(requests=[json.loads(e) for e in entries])
        return str(batch.id)

    async def find(self, chunk: Chunk, taken: set[str]) -> str | None:
        # Message batches carry no metadata: adopt the oldest untaken batch created since the chunk was
        # started that holds as many requests. Batches are listed newest first.
        found = None
        async for batch in self.client.messages.batches.list(limit=100):
            if batch.created_at.timestamp() < chunk.started_at - CLOCK_SKEW:
                break
            if batch.id not in taken and _total(batch) == chunk.size:
                found = str(batch.id)
        return found

    async def status(self, job_id: str) -> JobStatus:
        batch = await self.client.messages.batches.retrieve(job_id)
        counts = batch.request_counts
        return JobStatus(batch.processing_status == "ended",
                         f"{batch.processing_status}, {_total(batch) - counts.processing}/{_total(batch)} done")

    async def results(self, job_id: str) -> tuple[dict[str, Result], str]:
        results: dict[str, Result] = {}
        async for item in await self.client.messages.batches.results(job_id):
            results[item.custom_id] = _item_result(item.result)
        return results, f"no result for this request in message batch {job_id}"

    async def cancel(self, job_id: str) -> None:
        await self.client.messages.batches.cancel(job_id)


def _total(batch: Any) -> int:
    c = batch.request_counts
    return int(c.processing + c.succeeded + c.errored + c.canceled + c.expired)


def _item_result(result: Any) -> Result:
    if result.type == "succeeded":
        return message_result(result.message.model_dump(mode="json"))
    if result.type == "errored":
        error = getattr(result.error, "error", result.error)
        return Result(None, error=f"batch request failed ({getattr(error, 'type', 'error')}): "
                                  f"{getattr(error, 'message', error)}")
    return Result(None, error=f"batch request {result.type} before it ran")
