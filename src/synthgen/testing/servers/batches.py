"""Remote batch jobs as a provider runs them, shared by the OpenAI and Anthropic test servers.

A job ends ``completion_delay`` seconds after it is created. Inside an ended job each request's fate is
decided by a seeded hash of its ``custom_id`` (so reruns and assertions agree): ``failure_rate`` of them
fail, and with ``expire`` the job expires instead of completing, leaving ``expired_fraction`` unanswered.
A cancelled job ends at once with its unfinished requests cancelled. Results come back shuffled, as
providers promise no order: a client must match them by ``custom_id``.
"""

from __future__ import annotations

import hashlib
import itertools
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

Outcome = Literal["succeeded", "errored", "expired", "canceled"]


@dataclass
class BatchJob:
    id: str
    items: list[tuple[str, dict[str, Any]]]  # (custom_id, request body)
    created_at: float
    metadata: dict[str, Any] = field(default_factory=dict)
    cancelled_at: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # what a server keeps per job (file ids, ...)


@dataclass
class BatchCounters:
    created: int = 0
    cancelled: int = 0
    results_downloaded: int = 0
    submitted: Counter[str] = field(default_factory=Counter)  # custom_id -> number of jobs holding it

    @property
    def duplicate_requests(self) -> int:
        """Requests that were put in more than one job (rows that would be paid for twice)."""
        return sum(n - 1 for n in self.submitted.values() if n > 1)


class BatchJobs:
    """The jobs of one test server.

    Args:
        completion_delay: seconds from creation to the end of a job.
        failure_rate: fraction of requests that fail inside an ended job.
        expire: jobs expire at the end of the delay instead of completing.
        expired_fraction: with ``expire``, the fraction of requests left unanswered.
        seed: salt of the per-request dice.
    """

    def __init__(self, completion_delay: float = 0.0, failure_rate: float = 0.0, expire: bool = False,
                 expired_fraction: float = 0.5, seed: int = 0) -> None:
        self.completion_delay, self.failure_rate = completion_delay, failure_rate
        self.expire, self.expired_fraction, self.seed = expire, expired_fraction, seed
        self.jobs: dict[str, BatchJob] = {}
        self.counters = BatchCounters()
        self.on_create: Callable[[BatchJob], None] | None = None  # runs before the answer is sent
        self._ids = itertools.count(1)

    def create(self, prefix: str, items: list[tuple[str, dict[str, Any]]],
               metadata: dict[str, Any] | None = None) -> BatchJob:
        job = BatchJob(f"{prefix}{next(self._ids):06d}", items, time.time(), dict(metadata or {}))
        self.jobs[job.id] = job
        self.counters.created += 1
        self.counters.submitted.update(custom_id for custom_id, _ in items)
        if self.on_create is not None:
            self.on_create(job)
        return job

    def results_order(self, job: BatchJob) -> list[tuple[str, dict[str, Any]]]:
        items = list(job.items)
        random.Random(f"{self.seed}:{job.id}").shuffle(items)
        return items

    def cancel(self, job: BatchJob) -> None:
        if job.cancelled_at is None and not self.ended(job):
            job.cancelled_at = time.time()
            self.counters.cancelled += 1

    def page(self, after: str | None, limit: int) -> tuple[list[BatchJob], dict[str, Any]]:
        """One page of jobs, newest first, after the job ``after`` (the providers' list endpoints),
        and the page's ``has_more``/``first_id``/``last_id``."""
        jobs = list(reversed(self.jobs.values()))
        if after:
            ids = [j.id for j in jobs]
            jobs = jobs[ids.index(after) + 1:] if after in ids else []
        page = jobs[:limit]
        return page, {"has_more": len(jobs) > limit, "first_id": page[0].id if page else None,
                      "last_id": page[-1].id if page else None}

    def ended(self, job: BatchJob) -> bool:
        return job.cancelled_at is not None or time.time() - job.created_at >= self.completion_delay

    def outcome(self, job: BatchJob, custom_id: str) -> Outcome | None:
        """What happened to one request (``None`` while the job runs)."""
        if not self.ended(job):
            return None
        if job.cancelled_at is not None:
            return "canceled"
        if self.expire and self._roll(custom_id, "expire") < self.expired_fraction:
            return "expired"
        # The failure dice include the job: a request submitted again may succeed the second time.
        return "errored" if self._roll(custom_id, f"fail:{job.id}") < self.failure_rate else "succeeded"

    def counts(self, job: BatchJob) -> Counter[str]:
        return Counter(self.outcome(job, custom_id) or "processing" for custom_id, _ in job.items)

    def _roll(self, custom_id: str, what: str) -> float:
        digest = hashlib.sha256(f"{self.seed}:{what}:{custom_id}".encode()).digest()
        return int.from_bytes(digest[:8], "big") / 2**64
