"""The request engine: one event loop per LLM that keeps a window of requests in flight.

``generate()`` is called from several threads at once (the runner processes several batches of a task
concurrently), and every call feeds the same loop, so a slow request never idles the rest and there is
no per-batch barrier. The engine bounds concurrency and rate, retries with backoff that honours
``Retry-After``, caches each answer as it arrives, stops everything when a circuit breaker opens or a
token budget is spent, and records a row-level error when one request keeps failing.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from loguru import logger

from synthgen import interrupts
from synthgen.errors import BudgetExceeded, LLMError, PipelineInterrupted, SynthgenError
from synthgen.leases import Leases
from synthgen.llms.breaker import CircuitBreaker
from synthgen.llms.leases import request_leases
from synthgen.llms.limits import AdaptiveLimit, TokenBucket
from synthgen.llms.requests import Request, Result, cached_result, estimate_tokens, store_result, sync_result
from synthgen.llms.rescue import rescue_answer
from synthgen.llms.spend import Spend
from synthgen.store import Store


@dataclass
class Failure:
    """How the engine should treat an exception raised by a send."""

    message: str
    retryable: bool
    rate_limited: bool = False
    retry_after: float | None = None


@dataclass
class EngineSettings:
    max_concurrency: int = 64
    requests_per_minute: int | None = None
    tokens_per_minute: int | None = None
    max_retries: int = 6
    max_tokens_budget: int | None = None
    circuit_breaker_threshold: int = 10
    rate_limit_patience: float = 120.0
    backoff_base: float = 0.5
    backoff_max: float = 30.0


LEASE_POLL = 0.25  # seconds between looks for the answer of a request another run is sending

Send = Callable[[Request], Awaitable[Result]]
Classify = Callable[[BaseException], Failure]


class RequestEngine:
    """Sends requests for one LLM from a background event loop.

    Args:
        name: how errors name the LLM (``"openai LLM 'gpt-4o'"``).
        send: coroutine that performs one request and returns its result, raising on failure.
        classify: maps an exception from ``send`` to a :class:`Failure`.
        settings: limits, retries, budget and breaker threshold.
        spend: the run's token count (shared by the step's replicas); a count of its own by default.
    """

    def __init__(self, name: str, send: Send, classify: Classify, settings: EngineSettings,
                 spend: Spend | None = None) -> None:
        self.name = name
        self._send = send
        self._classify = classify
        self.settings = settings
        self.loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._fatal: SynthgenError | None = None
        self._inflight: dict[str, asyncio.Future[Result]] = {}
        self.breaker = CircuitBreaker(name, settings.circuit_breaker_threshold, settings.rate_limit_patience)
        self.spend = spend or Spend()
        self.sent = 0
        self.cache_hits = 0
        self.retries = 0
        self.waited = 0  # requests another run was sending: answered from its cache entry
        self.rate_limited = 0  # attempts answered 429
        self.failed = 0  # requests that ended without an answer

    # ---- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        """Start the loop thread and create the limiters on it."""
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name=f"synthgen-llm-{self.name}",
                                        daemon=True)
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._make_limiters(), self.loop).result()

    async def _make_limiters(self) -> None:
        s = self.settings
        self.limit = AdaptiveLimit(s.max_concurrency)
        self._rpm = TokenBucket(s.requests_per_minute) if s.requests_per_minute else None
        self._tpm = TokenBucket(s.tokens_per_minute) if s.tokens_per_minute else None

    def call(self, coro_fn: Callable[[], Awaitable[Any]]) -> Any:
        """Run ``coro_fn()`` on the engine loop and wait for it (used to close clients)."""
        assert self.loop is not None
        return asyncio.run_coroutine_threadsafe(_wrap(coro_fn), self.loop).result()

    def stop(self) -> None:
        """Cancel what is pending, stop the loop and join its thread."""
        loop, self.loop = self.loop, None
        if loop is None:
            return
        asyncio.run_coroutine_threadsafe(_cancel_all(), loop).result()
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=10)
        loop.close()

    # ---- submitting ------------------------------------------------------------------------
    def run(self, requests: list[Request], store: Store | None) -> list[Result]:
        """Answer ``requests`` (thread-safe, blocking).

        Raises:
            LLMError: the circuit breaker is open.
            BudgetExceeded: ``max_tokens_budget`` was reached.
        """
        if self.loop is None:
            raise LLMError(f"{self.name} is not loaded: call load() before generate()")
        return asyncio.run_coroutine_threadsafe(self.arun(requests, store), self.loop).result()

    async def arun(self, requests: list[Request], store: Store | None) -> list[Result]:
        """Answer ``requests`` on the engine loop; raise the first fatal error."""
        outcomes = await asyncio.gather(*(self._one(r, store) for r in requests), return_exceptions=True)
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome
        return list(outcomes)  # type: ignore[arg-type]

    async def _one(self, request: Request, store: Store | None) -> Result:
        cached = await self._lookup(request, store)
        if cached is not None:
            return cached
        if request.key in self._inflight:  # the same request is already on its way: never pay twice
            return await asyncio.shield(self._inflight[request.key])
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._inflight[request.key] = future
        try:
            result = await self._obtain(request, store)
            future.set_result(result)
            return result
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # mark retrieved: waiters re-raise it, nobody else must
            raise
        finally:
            del self._inflight[request.key]

    async def _obtain(self, request: Request, store: Store | None) -> Result:
        """Send ``request`` and store its answer, unless another run holds its lease: then wait for
        that run's answer in the cache (it is paid once)."""
        leases = request_leases(store)
        if leases is None:
            return await self._send_and_store(request, store)
        # Local leases are files (an exclusive create, an unlink: microseconds, per request): no thread hop
        # for them. On object storage each is a request: off the loop.
        remote = store is not None and bool(store.remote)
        while not (await asyncio.to_thread(leases.acquire, request.key) if remote else leases.acquire(request.key)):
            answer = await self._answer_of_other_run(request, store, leases)
            if answer is not None:
                return answer
        try:
            answer = await self._lookup(request, store)  # it may have landed just before we took the lease
            return answer if answer is not None else await self._send_and_store(request, store)
        finally:
            await asyncio.to_thread(leases.release, request.key) if remote else leases.release(request.key)

    async def _send_and_store(self, request: Request, store: Store | None) -> Result:
        result = await self._send_with_retries(request, store)
        if store is not None and not store.remote:
            await self._make_durable(store, request, result)
        return result

    @staticmethod
    async def _write(store: Store | None, request: Request, result: Result) -> None:
        """Hand an answer to the operating system (a local cache) or write it (object storage), on a
        thread: the loop keeps every other request moving meanwhile."""
        try:
            await asyncio.to_thread(store_result, store, request, result, False)
        except OSError as exc:  # disk full: the answer was paid for, keep it where the next run finds it
            await asyncio.to_thread(rescue_answer, request.key, result.record(), exc)

    @staticmethod
    async def _make_durable(store: Store, request: Request, result: Result) -> None:
        """fsync an answer written by :meth:`_write`, before its lease is given back (it counts as
        received then)."""
        try:
            await asyncio.to_thread(sync_result, store, request, result)
        except FileNotFoundError:
            pass  # not written (the disk was full: rescued), or the cache was cleared since
        except OSError as exc:  # the disk failed it: keep the answer where the next run finds it
            await asyncio.to_thread(rescue_answer, request.key, result.record(), exc)

    async def _answer_of_other_run(self, request: Request, store: Store | None, leases: Leases) -> Result | None:
        """Wait while another run sends ``request``: its answer, or ``None`` once its lease is gone
        without one (it failed, or its run died: this run sends it then)."""
        self.waited += 1
        remote = store is not None and bool(store.remote)
        while await asyncio.to_thread(leases.held_elsewhere, request.key) if remote else leases.held_elsewhere(request.key):
            self._check_can_send()
            await asyncio.sleep(LEASE_POLL)
        return await self._lookup(request, store)

    async def _lookup(self, request: Request, store: Store | None) -> Result | None:
        if store is not None and store.remote:  # a look in object storage is a request: off the loop
            cached = await asyncio.to_thread(cached_result, store, request)
        else:
            cached = cached_result(store, request)
        if cached is not None:
            self.cache_hits += 1
        return cached

    def stats(self) -> dict[str, int]:
        """What this engine did so far: requests sent (attempts), answered from the cache, retried,
        rate limited (429), failed, and waited for while another run sent them."""
        return {"sent": self.sent, "cache_hits": self.cache_hits, "retries": self.retries,
                "rate_limited": self.rate_limited, "failed": self.failed, "waited": self.waited}

    @property
    def tokens_used(self) -> int:
        """Tokens (input+output) this engine was answered with."""
        return self.spend.own

    async def _send_with_retries(self, request: Request, store: Store | None = None) -> Result:
        """Send until answered (and the answer stored in ``store``), out of retries, or stopped.

        429s do not use up retries (they lower the concurrency until the server stops refusing); the
        breaker and a stopping run end the wait instead.
        """
        failure = Failure("no attempt made", retryable=False)
        attempts = 0  # failed attempts, 429s not counted
        while True:
            self._check_can_send()
            reserved = await self._throttle(request)
            async with self.limit:
                self._check_can_send()  # a Ctrl+C may have come while this request waited for a slot
                epoch = self.limit.epoch
                try:
                    self.sent += 1
                    result = await self._send(request)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # noqa: BLE001 - every send error is classified below
                    failure = self._classify(exc)
                else:
                    if self._tpm is not None:  # the rate limit counts real tokens, not the estimate
                        self._tpm.settle(reserved, result.input_tokens + result.output_tokens)
                    self._on_success(result)
                    # Written before the slot is given back: an answer a killed process would lose is
                    # still in flight, or a kill could lose more than max_concurrency paid answers (CI:
                    # 309 answers where 308 was the bound). The fsync (~7 ms here) comes after the slot.
                    await self._write(store, request, result)
                    return result
            if failure.rate_limited:
                self.rate_limited += 1
                self.limit.on_rate_limited(epoch)
                self._open(self.breaker.on_rate_limited(failure.message))
            else:
                attempts += 1
                final = not failure.retryable or attempts > self.settings.max_retries
                self._open(self.breaker.on_failure(attempts, final, failure.message))
                if final:
                    break
            self.retries += 1
            await sleep_unless_stopping(self._delay(self.retries_of(attempts, failure), failure))
        self.failed += 1
        logger.warning(f"{self.name}: request failed: {failure.message}")
        return Result(None, error=f"{failure.message} (after {attempts} attempt(s))")

    async def _throttle(self, request: Request) -> float:
        """Wait for the rate budgets; the tokens reserved for the request (settled on its answer)."""
        if self._rpm is not None:
            await self._rpm.acquire(1)
        if self._tpm is not None:
            return await self._tpm.acquire(estimate_tokens(request))
        return 0.0

    @staticmethod
    def retries_of(attempts: int, failure: Failure) -> int:
        """The backoff exponent: failed attempts so far, at least 1 for a 429 without ``Retry-After``."""
        return max(attempts - 1, 1 if failure.rate_limited else 0)

    def _delay(self, attempt: int, failure: Failure) -> float:
        if failure.retry_after is not None:
            return failure.retry_after + random.uniform(0, 0.1 * max(failure.retry_after, 0.1))
        cap = min(self.settings.backoff_max, self.settings.backoff_base * 2**attempt)
        return random.uniform(cap / 2, cap)  # jitter: retries of a burst do not land together

    # ---- health and budget -------------------------------------------------------------------
    def _on_success(self, result: Result) -> None:
        self.breaker.on_success()
        self.limit.on_success()
        self.spend.add(result.input_tokens + result.output_tokens)
        self._check_budget()

    def _check_budget(self) -> None:
        """Open the budget breaker once the run's spending (every replica's) reaches the budget."""
        budget = self.settings.max_tokens_budget
        if budget is not None and self._fatal is None and self.spend.total >= budget:
            self._fatal = BudgetExceeded(
                f"token budget of {self.name} reached: {self.spend.total} tokens used (input+output) in this "
                f"run of max_tokens_budget={budget}. Answers received so far are cached and are not paid "
                "again: a new run goes on from there, with a budget of its own"
            )

    def _open(self, message: str | None) -> None:
        if message is not None and self._fatal is None:
            self._fatal = LLMError(message)

    def _check_can_send(self) -> None:
        """No new attempt once the budget is spent, the breaker is open or the run is stopping."""
        self._check_budget()
        self._check_fatal()
        if interrupts.requested():  # the first Ctrl+C: requests in flight finish, no new one starts
            raise PipelineInterrupted(f"{self.name}: the run is stopping; this request was not sent")

    def _check_fatal(self) -> None:
        if self._fatal is not None:
            raise self._fatal


async def sleep_unless_stopping(seconds: float) -> None:
    """Back off, but hear a Ctrl+C within a fifth of a second: a run stops without waiting out a 30 s
    backoff (the next attempt then sees the stop and is not sent)."""
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0 and not interrupts.requested():
        await asyncio.sleep(min(left, 0.2))


async def _wrap(coro_fn: Callable[[], Awaitable[Any]]) -> Any:
    return await coro_fn()


async def _cancel_all() -> None:
    current = asyncio.current_task()
    for task in asyncio.all_tasks():
        if task is not current:
            task.cancel()
