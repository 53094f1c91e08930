"""OpenAI's Batch API for offline batch generation: a JSONL file per job, uploaded with purpose ``batch``."""

from __future__ import annotations

import json
from typing import Any, ClassVar

from synthgen.llms.offline import Chunk, JobStatus, PlatformLimits
from synthgen.llms.openai_wire import chat_body, completion_result
from synthgen.llms.requests import Request, Result

ENDPOINT = "/v1/chat/completions"
CHUNK_METADATA = "synthgen_chunk"  # lets a rerun find a job whose creation a crash left unrecorded
CLOCK_SKEW = 300.0
_ENDED = {"completed", "failed", "expired", "cancelled"}


class OpenAIBatchAPI(PlatformLimits):
    """Files and batches endpoints of OpenAI (or a server that implements them).

    Args:
        model: the model every request names.
        client: an ``openai.AsyncOpenAI`` client.
        max_requests / max_bytes: split jobs below the platform's limits.
    """

    MAX_REQUESTS: ClassVar[int] = 50_000  # the platform's limits per input file
    MAX_BYTES: ClassVar[int] = 200 * 1024 * 1024

    def encode(self, request: Request) -> bytes:
        line = {"custom_id": request.key, "method": "POST", "url": ENDPOINT, "body": chat_body(self.model, request)}
        return (json.dumps(line, ensure_ascii=False) + "\n").encode()

    async def submit(self, chunk: Chunk, entries: list[bytes]) -> str:
        upload = await self.client.files.create(file=(f"synthgen-{chunk.key[:16]}.jsonl", b"".join(entries)),
                                                purpose="batch")
        batch = await self.client.batches.create(input_file_id=upload.id, endpoint=ENDPOINT, completion_window="24h",
                                                 metadata={CHUNK_METADATA: chunk.key})
        return str(batch.id)

    async def find(self, chunk: Chunk, taken: set[str]) -> str | None:
        # Batches are listed newest first: stop at those created before this chunk was started.
        async for batch in self.client.batches.list(limit=100):
            if batch.created_at < chunk.started_at - CLOCK_SKEW:
                return None
            if (batch.metadata or {}).get(CHUNK_METADATA) == chunk.key and batch.id not in taken:
                return str(batch.id)
        return None

    async def status(self, job_id: str) -> JobStatus:
        batch = await self.client.batches.retrieve(job_id)
        counts = batch.request_counts
        done = f"{counts.completed + counts.failed}/{counts.total} done" if counts else "no counts yet"
        return JobStatus(batch.status in _ENDED, f"{batch.status}, {done}")

    async def results(self, job_id: str) -> tuple[dict[str, Result], str]:
        batch = await self.client.batches.retrieve(job_id)
        results: dict[str, Result] = {}
        for file_id in (batch.output_file_id, batch.error_file_id):
            if file_id:
                content = await self.client.files.content(file_id)
                results.update(parse_lines(content.text))
        return results, _absent_reason(batch)

    async def cancel(self, job_id: str) -> None:
        await self.client.batches.cancel(job_id)


def parse_lines(text: str) -> dict[str, Result]:
    """Output or error file lines, by ``custom_id``."""
    results: dict[str, Result] = {}
    for line in text.splitlines():
        if line.strip():
            data = json.loads(line)
            results[data["custom_id"]] = _line_result(data)
    return results


def _line_result(data: dict[str, Any]) -> Result:
    response = data.get("response") or {}
    if response.get("status_code") == 200 and not data.get("error"):
        return completion_result(response.get("body") or {})
    error = data.get("error") or (response.get("body") or {}).get("error") or {}
    code = error.get("code") or response.get("status_code") or "error"
    return Result(None, error=f"batch request failed ({code}): {error.get('message') or 'no message'}")


def _absent_reason(batch: Any) -> str:
    if batch.status == "failed":
        errors = getattr(batch.errors, "data", None) or []
        detail = "; ".join(str(getattr(e, "message", e)) for e in errors) or "no detail"
        return f"batch job {batch.id} failed: {detail}"
    if batch.status in ("expired", "cancelled"):
        return f"batch job {batch.id} {batch.status} before this request ran"
    return f"no result for this request in batch job {batch.id}"
