"""The machinery both test servers share: a background aiohttp app, faults, counters.

A server runs its own event loop in a daemon thread on 127.0.0.1 and a free port. Routes live in a
plain table (``self.routes``) so later features (``/v1/files``, ``/v1/batches``) add a handler, not a
branch. Faults are decided per request: queued faults first (``inject``), then random rates.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from synthgen.llms.api import REQUEST_KEY_HEADER  # the client names each logical request by it

Handler = Callable[[web.Request, dict[str, Any]], Awaitable[web.StreamResponse]]
ReplyFn = Callable[[dict[str, Any]], str]


@dataclass
class Fault:
    """An injected failure: ``status`` (429, 500, ...) or ``timeout`` (the server hangs), for any POST or
    only those whose path starts with ``path``."""

    status: int | None = None
    retry_after: float | None = None
    timeout: bool = False
    path: str | None = None
    after: int = 0  # matching requests to let through first


@dataclass
class Counters:
    requests: int = 0
    answered: int = 0
    in_flight: int = 0
    max_in_flight: int = 0
    faults: Counter[str] = field(default_factory=Counter)
    bodies: Counter[str] = field(default_factory=Counter)
    first_request_at: float | None = None
    last_answer_at: float | None = None

    @property
    def duplicates(self) -> int:
        """Request bodies answered successfully more than once (a request paid for twice)."""
        return sum(n - 1 for n in self.bodies.values() if n > 1)


class TestServerBase:
    """Base of the OpenAI- and Anthropic-compatible test servers.

    Args:
        latency: seconds each answer takes.
        rate_429 / rate_500 / rate_timeout: fraction of requests that fail that way (seeded, reproducible).
        retry_after: the ``Retry-After`` sent with 429s.
        hang: how long a "timeout" request hangs before the server gives up on it.
        reply_fn: ``body -> text``: what the model answers (default: an echo of the last message).
        seed: seed of the fault dice.
        max_in_flight: answer 429 (``Retry-After: retry_after``) to requests past this many at once, as a
            server that caps concurrency does.
        fail_fn: ``body -> status or None``: a status to answer a request with every time (a prompt the
            server always refuses); set it to ``None`` later to make the server healthy again.
        port: the port to listen on (0: a free one, read back from ``port`` once started).
    """

    __test__ = False  # not a pytest test class

    def __init__(self, latency: float = 0.0, rate_429: float = 0.0, rate_500: float = 0.0,
                 rate_timeout: float = 0.0, retry_after: float = 0.1, hang: float = 30.0,
                 reply_fn: ReplyFn | None = None, seed: int = 0, max_in_flight: int | None = None,
                 fail_fn: Callable[[dict[str, Any]], int | None] | None = None, port: int = 0) -> None:
        self.latency = latency
        self.rate_429, self.rate_500, self.rate_timeout = rate_429, rate_500, rate_timeout
        self.retry_after = retry_after
        self.hang = hang
        self.reply_fn = reply_fn
        self.max_in_flight = max_in_flight
        self.fail_fn = fail_fn
        self.counters = Counters()
        self.routes: dict[tuple[str, str], Handler] = {}
        self._queued: list[Fault] = []
        self._random = random.Random(seed)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self.port = port

    # ---- lifecycle -------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """What to pass as an SDK's ``base_url``."""
        return f"{self.url}/v1"

    def start(self) -> TestServerBase:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="synthgen-test-server", daemon=True)
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._serve(), self._loop).result(timeout=30)
        return self

    async def _serve(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        self._runner = web.AppRunner(app, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    def stop(self) -> None:
        loop, self._loop = self._loop, None
        if loop is None:
            return
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), loop).result(timeout=30)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=10)
        loop.close()

    def __enter__(self) -> TestServerBase:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- faults ----------------------------------------------------------------------------
    def inject(self, status: int | None = None, count: int = 1, retry_after: float | None = None,
               timeout: bool = False, path: str | None = None, after: int = 0) -> None:
        """Make ``count`` POST requests (to ``path`` and below, when given) fail with ``status`` (or hang
        when ``timeout``), once ``after`` matching requests have gone through."""
        self._queued.append(Fault(status, retry_after, timeout, path, after))
        self._queued.extend(Fault(status, retry_after, timeout, path) for _ in range(count - 1))

    def _next_fault(self, path: str, body: dict[str, Any]) -> Fault | None:
        if self.max_in_flight is not None and self.counters.in_flight > self.max_in_flight:
            return Fault(429, self.retry_after)
        status = self.fail_fn(body) if self.fail_fn is not None else None
        if status is not None:
            return Fault(status)
        for i, fault in enumerate(self._queued):
            if fault.path is None or path.startswith(fault.path):
                if fault.after:
                    fault.after -= 1
                    return None
                return self._queued.pop(i)
        roll = self._random.random()
        if roll < self.rate_429:
            return Fault(429, self.retry_after)
        if roll < self.rate_429 + self.rate_500:
            return Fault(500)
        if roll < self.rate_429 + self.rate_500 + self.rate_timeout:
            return Fault(timeout=True)
        return None

    # ---- dispatch --------------------------------------------------------------------------
    def _route(self, method: str, path: str) -> Handler | None:
        """Exact routes first, then patterns whose ``{id}`` segments match any one path segment."""
        if (method, path) in self.routes:
            return self.routes[(method, path)]
        parts = path.split("/")
        for (m, pattern), handler in self.routes.items():
            pattern_parts = pattern.split("/")
            if m == method and "{" in pattern and len(pattern_parts) == len(parts) and all(
                    p.startswith("{") or p == q for p, q in zip(pattern_parts, parts, strict=True)):
                return handler
        return None

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        handler = self._route(request.method, request.path)
        if handler is None:
            return self.error_response(404, f"no route {request.method} {request.path}")
        raw = await request.read()
        body = json.loads(raw) if raw and request.content_type == "application/json" else {}
        c = self.counters
        c.requests += 1
        c.first_request_at = c.first_request_at or time.monotonic()
        c.in_flight += 1
        c.max_in_flight = max(c.max_in_flight, c.in_flight)
        try:
            return await self._answer(handler, request, body, raw)
        finally:
            c.in_flight -= 1

    async def _answer(self, handler: Handler, request: web.Request, body: dict[str, Any],
                      raw: bytes) -> web.StreamResponse:
        fault = self._next_fault(request.path, body) if request.method == "POST" else None
        if fault is not None and fault.timeout:
            self.counters.faults["timeout"] += 1
            await asyncio.sleep(self.hang)
            return self.error_response(504, "timed out")
        if self.latency:
            await asyncio.sleep(self.latency)
        if fault is not None and fault.status is not None:
            self.counters.faults[str(fault.status)] += 1
            headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
            return self.error_response(fault.status, f"injected {fault.status}", headers)
        response = await handler(request, body)
        if response.status == 200 and request.method == "POST":
            self.counters.answered += 1
            self.counters.last_answer_at = time.monotonic()
            # Clients may name each logical request (synthgen sends its cache key): two samples of one
            # prompt have the same body but are different requests.
            key = request.headers.get(REQUEST_KEY_HEADER) or hashlib.sha256(raw).hexdigest()
            self.counters.bodies[key] += 1
        return response

    def error_response(self, status: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
        return web.json_response({"error": {"message": message, "type": "test_server_error", "code": status}},
                                 status=status, headers=headers)

    # ---- replies ---------------------------------------------------------------------------
    def reply(self, body: dict[str, Any], last_text: str) -> str:
        """The model's answer: ``reply_fn(body)`` or a deterministic echo of the last message."""
        if self.reply_fn is not None:
            return self.reply_fn(body)
        return f"Echo: {last_text}"


def count_tokens(text: str) -> int:
    """Whitespace tokens: deterministic and good enough for statistics tests."""
    return len(text.split())


def truncate(text: str, max_tokens: int | None) -> tuple[str, bool]:
    """Cut ``text`` to ``max_tokens`` whitespace tokens; say whether it was cut."""
    words = text.split(" ")
    if max_tokens is None or len(words) <= max_tokens:
        return text, False
    return " ".join(words[:max_tokens]), True
