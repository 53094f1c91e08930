"""Offline batch generation: a step's requests go out as provider batch jobs and come back on a later run.

Each backend supplies a :class:`BatchAPI` (upload, create, poll, download, cancel); this module keeps
the ledger that makes submission idempotent across runs, crashes and pipelines:

- One ledger per backend identity (backend, host, model) lists the *chunks* ever submitted. A chunk is
  the requests of one remote job. Its request keys are written before its job is created, so a rerun
  after a crash knows those requests are taken and asks the provider whether the job exists
  (:meth:`BatchAPI.find`) instead of creating a second one: never two jobs for the same rows.
- A request's ``custom_id`` is its cache key, so results are matched to requests by id, never by position.
- Results are written to the request cache as they are downloaded: a later online run of the same
  requests, or another pipeline, costs nothing.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from functools import partial
from typing import Any, ClassVar, Protocol, TypeVar

from filelock import FileLock

from synthgen import interrupts
from synthgen.errors import LLMError, OfflineBatchGenerationNotFinished
from synthgen.hashing import stable_hash
from synthgen.llms.engine import Failure
from synthgen.llms.requests import Request, Result, cached_result, store_results
from synthgen.store import Store

T = TypeVar("T")
LEDGERS, CHUNKS = "offline/ledgers", "offline/chunks"


@dataclass
class Chunk:
    """The requests of one remote job. ``job`` is ``None`` while it is being submitted."""

    key: str
    size: int
    started_at: float
    job: str | None = None
    collected: bool = False
    failed: dict[str, str] = field(default_factory=dict)  # request key -> error, once collected


@dataclass
class JobStatus:
    ended: bool
    summary: str  # "in_progress, 12/50 done": what the pending message shows


class BatchAPI(Protocol):
    """What a backend provides for offline batch generation. Coroutines run on the LLM's engine loop."""

    max_requests: int
    max_bytes: int

    def encode(self, request: Request) -> bytes:
        """The request as one entry of the provider's batch input, ``custom_id`` = ``request.key``."""
        ...

    async def submit(self, chunk: Chunk, entries: list[bytes]) -> str:
        """Create the remote job for ``chunk``; return its id."""
        ...

    async def find(self, chunk: Chunk, taken: set[str]) -> str | None:
        """The id of a job created for ``chunk`` by a run that crashed before recording it, if any."""
        ...

    async def status(self, job_id: str) -> JobStatus: ...

    async def results(self, job_id: str) -> tuple[dict[str, Result], str]:
        """``custom_id -> Result`` of an ended job (a failed request has ``text=None`` and its error),
        and the error of the requests the job did not answer (expired, cancelled, job failed)."""
        ...

    async def cancel(self, job_id: str) -> None: ...


class PlatformLimits:
    """What every batch API keeps: its model, its client and the job limits, the platform's own
    (``MAX_REQUESTS``/``MAX_BYTES``) or smaller ones the user set."""

    MAX_REQUESTS: ClassVar[int] = 1
    MAX_BYTES: ClassVar[int] = 1

    def __init__(self, model: str, client: Any, max_requests: int | None = None, max_bytes: int | None = None) -> None:
        self.model, self.client = model, client
        self.max_requests = min(max_requests or self.MAX_REQUESTS, self.MAX_REQUESTS)
        self.max_bytes = min(max_bytes or self.MAX_BYTES, self.MAX_BYTES)


@dataclass
class OfflineSettings:
    block_until_done: float | None = None  # poll at this interval instead of ending the run as pending
    resubmit_failed: bool = False
    max_retries: int = 6


class Ledger:
    """The chunks submitted for one backend identity, stored in the cache and locked while changed."""

    def __init__(self, store: Store, identity: dict[str, Any]) -> None:
        self.store = store
        self.key = stable_hash(identity)

    @contextmanager
    def locked(self) -> Iterator[list[Chunk]]:
        path = self.store.root / LEDGERS / f"{self.key}.lock"
        path.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(str(path)):
            record = self.store.get_record(
                LEDGERS, self.key, consequence="the batch jobs it recorded are forgotten: requests no other record "
                "answers will be submitted in new jobs, and paid for again") or {"chunks": []}
            yield [Chunk(**c) for c in record["chunks"]]

    def save(self, chunks: list[Chunk]) -> None:
        # A collected chunk without failures is no longer needed: its answers are in the request cache.
        kept = [c for c in chunks if not (c.collected and not c.failed)]
        self.store.put_record(LEDGERS, self.key, {"chunks": [asdict(c) for c in kept]})

    def requests_of(self, chunk: Chunk) -> list[str]:
        return (self.store.get_record(CHUNKS, chunk.key) or {}).get("requests", [])

    def put_requests(self, chunk: Chunk, keys: list[str]) -> None:
        self.store.put_record(CHUNKS, chunk.key, {"requests": keys})


class OfflineBatches:
    """Answers requests through batch jobs: submit what no job covers, collect what ended, else raise.

    Args:
        api: the backend's batch API.
        run: runs a coroutine on the engine loop and returns its result.
        label: how messages name the LLM (``"openai LLM 'gpt-4o-mini'"``).
        ledger: where chunks are recorded.
        settings: polling, resubmission and retries.
        classify: how an exception from the provider is treated (retryable or not).
        on_jobs: told the ids of the jobs that answer the current requests.
    """

    def __init__(self, api: BatchAPI, run: Callable[[Coroutine[Any, Any, Any]], Any], label: str, ledger: Ledger,
                 settings: OfflineSettings, classify: Callable[[BaseException], Failure],
                 on_jobs: Callable[[tuple[str, ...]], None] = lambda jobs: None) -> None:
        self.api, self._run, self.label, self.ledger = api, run, label, ledger
        self.settings, self._classify, self._on_jobs = settings, classify, on_jobs

    # ---- the one entry point --------------------------------------------------------------------
    def collect(self, requests: list[Request]) -> list[Result]:
        """One result per request, in order.

        Raises:
            OfflineBatchGenerationNotFinished: jobs are submitted or still running.
            LLMError: a job could not be submitted (the ones submitted before it are kept).
        """
        store = self.ledger.store
        unique = {r.key: r for r in requests}
        answers = {k: res for k, r in unique.items() if (res := cached_result(store, r)) is not None}
        mine: set[str] = set()  # chunks this call created: with use_cache=False, the only ones that count
        while True:
            pending = self._pass(unique, answers, mine)
            if not pending:
                return [answers[r.key] for r in requests]
            if self.settings.block_until_done is None or interrupts.sleep(self.settings.block_until_done):
                raise self._not_finished(pending, store.fresh_requests)

    def _pass(self, unique: dict[str, Request], answers: dict[str, Result], mine: set[str]) -> list[tuple[str, str]]:
        """Submit, recover and poll under the ledger lock; return ``(job, summary)`` of pending jobs."""
        with self.ledger.locked() as chunks:
            missing = [k for k in unique if k not in answers]
            cover = self._cover(chunks, missing, mine)
            self._submit([unique[k] for k in missing if k not in cover], chunks, mine, cover)
            self._recover(chunks, unique, cover, mine)
            pending = self._poll({id(c): c for c in cover.values()}.values(), answers, chunks)
            self._on_jobs(tuple(sorted({c.job for c in cover.values() if c.job})))
            self.ledger.save(chunks)
        for key, chunk in cover.items():
            if chunk.collected and key not in answers:
                answers[key] = Result(None, error=chunk.failed.get(key) or f"no result in batch job {chunk.job}")
        return pending

    # ---- which job answers which request ---------------------------------------------------------
    def _cover(self, chunks: list[Chunk], missing: list[str], mine: set[str]) -> dict[str, Chunk]:
        fresh = self.ledger.store.fresh_requests
        index: dict[str, Chunk] = {}
        for chunk in chunks:  # later chunks win: a resubmission covers what an earlier job failed
            if fresh and chunk.key not in mine:
                continue
            keys = chunk.failed if chunk.collected else self.ledger.requests_of(chunk)
            index.update(dict.fromkeys(keys, chunk))
        cover = {k: index[k] for k in missing if k in index}
        if self.settings.resubmit_failed:
            cover = {k: c for k, c in cover.items() if not (c.collected and c.key not in mine)}
        return cover

    def _submit(self, requests: list[Request], chunks: list[Chunk], mine: set[str], cover: dict[str, Chunk]) -> None:
        groups = list(self._split(requests))
        for i, group in enumerate(groups):
            now = time.time()
            chunk = Chunk(stable_hash({"requests": [r.key for r, _ in group], "at": now}), len(group), now)
            self.ledger.put_requests(chunk, [r.key for r, _ in group])
            chunks.append(chunk)
            self.ledger.save(chunks)  # recorded before the job exists: a crash now cannot cause a duplicate
            mine.add(chunk.key)
            cover.update(dict.fromkeys((r.key for r, _ in group), chunk))
            try:
                chunk.job = self._call(partial(self.api.submit, chunk, [e for _, e in group]))
            except LLMError as exc:
                self.ledger.save(chunks)
                raise LLMError(
                    f"{self.label}: could not submit batch job {i + 1} of {len(groups)}: {exc}. The {i} job(s) "
                    "submitted before it are saved; run the same command again to submit the rest"
                ) from None
            self.ledger.save(chunks)

    def _split(self, requests: list[Request]) -> Iterator[list[tuple[Request, bytes]]]:
        group: list[tuple[Request, bytes]] = []
        size = 0
        for request in requests:
            entry = self.api.encode(request)
            if group and (len(group) >= self.api.max_requests or size + len(entry) > self.api.max_bytes):
                yield group
                group, size = [], 0
            group.append((request, entry))
            size += len(entry)
        if group:
            yield group

    def _recover(self, chunks: list[Chunk], unique: dict[str, Request], cover: dict[str, Chunk],
                 mine: set[str]) -> None:
        """A chunk recorded without a job id: a run ended while submitting it. Adopt the job if the
        provider has it, else submit it now (or give its requests back when this call lacks some)."""
        taken = {c.job for c in chunks if c.job}
        for chunk in {id(c): c for c in cover.values() if c.job is None and c.key not in mine}.values():
            chunk.job = self._call(partial(self.api.find, chunk, taken))
            if chunk.job is None:
                keys = self.ledger.requests_of(chunk)
                if not all(k in unique for k in keys):
                    chunks.remove(chunk)
                    self._submit([unique[k] for k, c in cover.items() if c is chunk], chunks, mine, cover)
                    continue
                chunk.job = self._call(partial(self.api.submit, chunk, [self.api.encode(unique[k]) for k in keys]))
            taken.add(chunk.job)
            self.ledger.save(chunks)

    # ---- collecting --------------------------------------------------------------------------------
    def _poll(self, relevant: Any, answers: dict[str, Result], chunks: list[Chunk]) -> list[tuple[str, str]]:
        pending = []
        for chunk in relevant:
            if chunk.collected or chunk.job is None:
                continue
            status = self._call(partial(self.api.status, chunk.job))
            if not status.ended:
                pending.append((chunk.job, status.summary))
                continue
            self._download(chunk, answers)
            self.ledger.save(chunks)
        return pending

    def _download(self, chunk: Chunk, answers: dict[str, Result]) -> None:
        assert chunk.job is not None
        results, absent = self._call(partial(self.api.results, chunk.job))
        keys = self.ledger.requests_of(chunk)
        got = {k: results.get(k) or Result(None, error=absent) for k in keys}
        store_results(self.ledger.store, got)
        chunk.failed = {k: r.error or "failed" for k, r in got.items() if r.text is None}
        chunk.collected = True
        answers.update({k: r for k, r in got.items() if r.text is not None})

    # ---- helpers -----------------------------------------------------------------------------------
    def _call(self, coro_fn: Callable[[], Awaitable[T]]) -> Any:
        """Run one batch-API call on the engine loop, retrying what is worth retrying."""
        return self._run(_retrying(coro_fn, self._classify, self.settings.max_retries))

    def _not_finished(self, pending: list[tuple[str, str]], fresh: bool) -> OfflineBatchGenerationNotFinished:
        jobs = ", ".join(f"{job} ({summary})" for job, summary in pending)
        again = ("run again WITHOUT use_cache=False / --no-cache to collect them (with it, jobs are "
                 "submitted and billed again)" if fresh else "run the same command again to collect them")
        return OfflineBatchGenerationNotFinished(
            [job for job, _ in pending],
            f"{self.label}: {len(pending)} offline batch job(s) pending: {jobs}; {again}",
        )


async def _retrying(coro_fn: Callable[[], Awaitable[T]], classify: Callable[[BaseException], Failure],
                    max_retries: int) -> T:
    for attempt in range(max_retries + 1):
        try:
            return await coro_fn()
        except Exception as exc:  # noqa: BLE001 - classified below
            failure = classify(exc)
            if not failure.retryable or attempt == max_retries:
                raise LLMError(f"{failure.message} (after {attempt + 1} attempt(s))") from None
        delay = failure.retry_after if failure.retry_after is not None else min(30.0, 0.5 * 2**attempt)
        await asyncio.sleep(delay + random.uniform(0, 0.1))
    raise AssertionError("unreachable")  # pragma: no cover
