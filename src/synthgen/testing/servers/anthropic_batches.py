"""The Message Batches API of the Anthropic test server: create, retrieve, list, results, cancel."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from aiohttp import web

from synthgen.testing.servers.batches import BatchJob

if TYPE_CHECKING:
    from synthgen.testing.servers.anthropic import AnthropicTestServer

_COUNTS = ("processing", "succeeded", "errored", "canceled", "expired")


class AnthropicBatchEndpoints:
    """Handlers over the server's :class:`~synthgen.testing.servers.batches.BatchJobs`."""

    def __init__(self, server: AnthropicTestServer) -> None:
        self.server = server

    async def create(self, request: web.Request, body: dict[str, Any]) -> web.Response:
        items = [(r["custom_id"], r["params"]) for r in body.get("requests", [])]
        if len({c for c, _ in items}) != len(items):
            return self.server.error_response(400, "custom_id values must be unique within a batch")
        return web.json_response(self._batch(self.server.batches.create("msgbatch_", items)))

    async def retrieve(self, request: web.Request, body: dict[str, Any]) -> web.Response:
        job = self._job(request)
        return web.json_response(self._batch(job)) if job else self.server.error_response(404, "no such batch")

    async def cancel(self, request: web.Request, body: dict[str, Any]) -> web.Response:
        job = self._job(request)
        if job is None:
            return self.server.error_response(404, "no such batch")
        self.server.batches.cancel(job)
        return web.json_response(self._batch(job))

    async def list(self, request: web.Request, body: dict[str, Any]) -> web.Response:
        jobs, cursor = self.server.batches.page(request.query.get("after_id"), int(request.query.get("limit", 20)))
        return web.json_response({"data": [self._batch(j) for j in jobs], **cursor})

    async def results(self, request: web.Request, body: dict[str, Any]) -> web.Response:
        job = self._job(request)
        if job is None or not self.server.batches.ended(job):
            return self.server.error_response(404 if job is None else 400, "no results for this batch (yet)")
        self.server.batches.counters.results_downloaded += 1
        lines = [json.dumps({"custom_id": c, "result": self._result(job, c, params)}) for c, params in self.server.batches.results_order(job)]
        return web.Response(body=("\n".join(lines) + "\n").encode(), content_type="application/binary")

    def _job(self, request: web.Request) -> BatchJob | None:
        return self.server.batches.jobs.get(request.path.split("/")[4])

    def _result(self, job: BatchJob, custom_id: str, params: dict[str, Any]) -> dict[str, Any]:
        outcome = self.server.batches.outcome(job, custom_id)
        if outcome == "succeeded":
            return {"type": "succeeded", "message": self.server.message(params)}
        if outcome == "errored":
            return {"type": "errored", "error": {"type": "error", "error": {
                "type": "api_error", "message": "injected batch failure"}}}
        return {"type": outcome or "expired"}

    def _batch(self, job: BatchJob) -> dict[str, Any]:
        jobs = self.server.batches
        counts = jobs.counts(job)
        ended = jobs.ended(job)
        created = datetime.fromtimestamp(job.created_at, timezone.utc)
        return {
            "id": job.id, "type": "message_batch", "processing_status": "ended" if ended else "in_progress",
            "request_counts": {name: counts[name] for name in _COUNTS},
            "ended_at": _iso(datetime.now(timezone.utc)) if ended else None, "created_at": _iso(created),
            "expires_at": _iso(created + timedelta(hours=24)), "archived_at": None,
            "cancel_initiated_at": _iso(datetime.fromtimestamp(job.cancelled_at, timezone.utc))
            if job.cancelled_at else None,
            "results_url": f"{self.server.url}/v1/messages/batches/{job.id}/results" if ended else None,
        }


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def anthropic_batch_routes(server: AnthropicTestServer) -> dict[tuple[str, str], Any]:
    """The route table entries of the Message Batches API."""
    api = AnthropicBatchEndpoints(server)
    return {
        ("POST", "/v1/messages/batches"): api.create,
        ("GET", "/v1/messages/batches"): api.list,
        ("GET", "/v1/messages/batches/{id}"): api.retrieve,
        ("GET", "/v1/messages/batches/{id}/results"): api.results,
        ("POST", "/v1/messages/batches/{id}/cancel"): api.cancel,
    }
