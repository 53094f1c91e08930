"""Test doubles of the request engine's tests: a scripted backend, its exceptions and their classifier."""

from __future__ import annotations

import asyncio
import time

from synthgen.llms.engine import Failure
from synthgen.llms.requests import Request, Result, make_request


class Flaky(Exception):
    def __init__(self, kind: str, retry_after: float | None = None) -> None:
        super().__init__(kind)
        self.kind = kind
        self.retry_after = retry_after


def classify(exc: BaseException) -> Failure:
    if isinstance(exc, Flaky):
        return Failure(f"flaky {exc.kind}", retryable=exc.kind != "auth", rate_limited=exc.kind == "429",
                       retry_after=exc.retry_after)
    return Failure(str(exc), retryable=False)


class Backend:
    """A fake send: latency, a queue of failures, counters. With ``hold_until``, no request is answered
    before that many are in flight together (or 60 s passed): an overlap that no timing decides."""

    def __init__(self, latency: float = 0.0, failures: list[Flaky] | None = None,
                 always: Flaky | None = None, hold_until: int = 0) -> None:
        self.latency = latency
        self.hold_until = hold_until
        self.failures = list(failures or [])
        self.always = always
        self.sent = 0
        self.in_flight = 0
        self.peak = 0
        self.times: list[float] = []

    async def send(self, request: Request) -> Result:
        self.sent += 1
        self.times.append(time.monotonic())
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            await self._held()
            await asyncio.sleep(self.latency)
            if self.always is not None:
                raise self.always
            if self.failures:
                raise self.failures.pop(0)
            return Result(f"answer to {request.input}", input_tokens=3, output_tokens=7)
        finally:
            self.in_flight -= 1

    async def _held(self) -> None:
        deadline = time.monotonic() + 60
        while self.peak < self.hold_until and time.monotonic() < deadline:
            await asyncio.sleep(0.005)


def requests(n: int, sample: int = 0) -> list[Request]:
    return [make_request({"backend": "t", "model": "m"}, f"prompt {i}", {}, None, sample) for i in range(n)]
