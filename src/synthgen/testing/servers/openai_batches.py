"""The OpenAI Batch API of the test server: ``/v1/files`` and ``/v1/batches`` (create, retrieve, list,
cancel), with output and error files written when a job ends."""

from __future__ import annotations

import itertools
import json
import time
from email.parser import BytesParser
from email.policy import HTTP
from typing import TYPE_CHECKING, Any

from aiohttp import web

from synthgen.testing.servers.batches import BatchJob

if TYPE_CHECKING:
    from synthgen.testing.servers.openai import OpenAITestServer

_STATUS = {"succeeded": 200, "errored": 500}
_ERROR_CODES = {"errored": "server_error", "expired": "batch_expired", "canceled": "batch_cancelled"}


class OpenAIBatchEndpoints:
    """Handlers over the server's files and its :class:`~synthgen.testing.servers.batches.BatchJobs`."""

    def __init__(self, server: OpenAITestServer) -> None:
        self.server = server
        self._file_ids = itertools.count(1)

    # ---- files ---------------------------------------------------------------------------------
    async def upload(self, request: web.Request, body: dict[str, Any]) -> web.Response:
        fields = _multipart(await request.read(), request.headers["Content-Type"])
        content, filename = fields["file"]
        return web.json_response(self._file(content, filename, str(fields.get("purpose", (b"batch",))[0].decode())))

    async def content(self, request: web.Request, body: dict[str, Any]) -> web.Response:
        file = self.server.files.get(request.path.split("/")[3])
        if file is None:
            return self.server.error_response(404, "no such file")
        if file["purpose"] == "batch_output":
            self.server.batches.counters.results_downloaded += 1
        return web.Response(body=file["content"], content_type="application/octet-stream")

    def _file(self, content: bytes, filename: str, purpose: str) -> dict[str, Any]:
        file_id = f"file-{next(self._file_ids):06d}"
        self.server.files[file_id] = {"content": content, "filename": filename, "purpose": purpose}
        return {"id": file_id, "object": "file", "bytes": len(content), "created_at": int(time.time()),
                "filename": filename, "purpose": purpose, "status": "processed"}

    # ---- batches -------------------------------------------------------------------------------
    async def create(self, request: web.Request, body: dict[str, Any]) -> web.Response:
        file = self.server.files.get(body.get("input_file_id", ""))
        if file is None:
            return self.server.error_response(400, f"no input file {body.get('input_file_id')!r}")
        lines = [json.loads(line) for line in file["content"].decode().splitlines() if line.strip()]
        items = [(line["custom_id"], line["body"]) for line in lines]
        if len({c for c, _ in items}) != len(items):
            return self.server.error_response(400, "custom_id values must be unique within a batch")
        job = self.server.batches.create("batch_", items, body.get("metadata"))
        job.extra.update(input_file_id=body["input_file_id"], endpoint=body.get("endpoint"))
        return web.json_response(self._batch(job))

    async def retrieve(self, request: web.Request, body: dict[str, Any]) -> web.Response:
        job = self.server.batches.jobs.get(request.path.split("/")[3])
        if job is None:
            return self.server.error_response(404, "no such batch")
        return web.json_response(self._batch(job))

    async def cancel(self, request: web.Request, body: dict[str, Any]) -> web.Response:
        job = self.server.batches.jobs.get(request.path.split("/")[3])
        if job is None:
            return self.server.error_response(404, "no such batch")
        self.server.batches.cancel(job)
        return web.json_response(self._batch(job))

    async def list(self, request: web.Request, body: dict[str, Any]) -> web.Response:
        jobs, cursor = self.server.batches.page(request.query.get("after"), int(request.query.get("limit", 20)))
        return web.json_response({"object": "list", "data": [self._batch(j) for j in jobs], **cursor})

    def _batch(self, job: BatchJob) -> dict[str, Any]:
        jobs = self.server.batches
        counts = jobs.counts(job)
        ended = jobs.ended(job)
        status = "in_progress"
        if ended:
            status = "cancelled" if job.cancelled_at else ("expired" if jobs.expire else "completed")
            self._write_outputs(job)
        return {
            "id": job.id, "object": "batch", "endpoint": job.extra.get("endpoint"), "errors": None,
            "input_file_id": job.extra.get("input_file_id"), "completion_window": "24h", "status": status,
            "output_file_id": job.extra.get("output_file_id"), "error_file_id": job.extra.get("error_file_id"),
            "created_at": int(job.created_at), "metadata": job.metadata or None,
            "request_counts": {"total": len(job.items), "completed": counts["succeeded"],
                               "failed": len(job.items) - counts["succeeded"] - counts["processing"]},
        }

    def _write_outputs(self, job: BatchJob) -> None:
        if "written" in job.extra:
            return
        job.extra["written"] = True
        out, err = [], []
        for custom_id, request_body in self.server.batches.results_order(job):
            outcome = self.server.batches.outcome(job, custom_id) or "expired"
            line = {"id": f"batch_req_{custom_id[:12]}", "custom_id": custom_id}
            if outcome == "succeeded":
                body = self.server.chat_completion(request_body)
                out.append({**line, "response": {"status_code": 200, "request_id": "req", "body": body}, "error": None})
            elif outcome == "errored":
                error = {"message": "injected batch failure", "type": "server_error", "code": None}
                err.append({**line, "response": {"status_code": 500, "request_id": "req", "body": {"error": error}},
                            "error": None})
            else:
                err.append({**line, "response": None,
                            "error": {"code": _ERROR_CODES[outcome], "message": f"request {outcome}"}})
        for kind, lines in (("output_file_id", out), ("error_file_id", err)):
            if lines:
                content = "".join(json.dumps(x) + "\n" for x in lines).encode()
                job.extra[kind] = self._file(content, f"{job.id}_{kind}.jsonl", "batch_output")["id"]


def openai_batch_routes(server: OpenAITestServer) -> dict[tuple[str, str], Any]:
    """The route table entries of the Batch API."""
    api = OpenAIBatchEndpoints(server)
    return {
        ("POST", "/v1/files"): api.upload,
        ("GET", "/v1/files/{id}/content"): api.content,
        ("POST", "/v1/batches"): api.create,
        ("GET", "/v1/batches"): api.list,
        ("GET", "/v1/batches/{id}"): api.retrieve,
        ("POST", "/v1/batches/{id}/cancel"): api.cancel,
    }


def _multipart(raw: bytes, content_type: str) -> dict[str, tuple[bytes, str]]:
    """Form fields of a multipart body: ``name -> (bytes, filename)``."""
    message = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + raw)
    fields: dict[str, tuple[bytes, str]] = {}
    for part in message.iter_parts():  # type: ignore[attr-defined]
        name = str(part.get_param("name", header="content-disposition"))
        fields[name] = (bytes(part.get_payload(decode=True) or b""), str(part.get_filename() or ""))
    return fields
