"""The circuit breaker: stop a step whose server is down, whatever the run's size, and only then.

Counting rows that used up every retry (the old rule) let a dead server take ``max_concurrency`` times
``max_retries`` requests before anything stopped, and never stopped a run of 8 rows. Here failures are
*strikes*, and a success clears them. Before the step's first success every failed attempt strikes,
and 5 strikes open the breaker: a wrong ``base_url`` or a dead server stops within a second, after at
most the requests already in flight. Once a request succeeded, a single failed attempt is routine: a
request strikes when it fails a second time, or once when the failure is final (401, 404), and
``threshold`` strikes with no success between them open the breaker.

429s never strike: they lower the concurrency instead. They open the breaker only when nothing at
all succeeded for ``rate_limit_patience`` seconds while they kept coming.
"""

from __future__ import annotations

import time

FIRST_STRIKES = 5
"""Strikes that open the breaker before the step's first success (or all of the step's requests,
when it has fewer: the run-level ``max_failed_fraction`` covers those)."""


class CircuitBreaker:
    """Decides when failed requests mean the server is down.

    Args:
        name: how the message names the LLM.
        threshold: strikes with no success between them that open the breaker once a request succeeded.
        rate_limit_patience: seconds of nothing but 429s that open it.
    """

    def __init__(self, name: str, threshold: int, rate_limit_patience: float) -> None:
        self.name = name
        self.threshold = threshold
        self.rate_limit_patience = rate_limit_patience
        self.strikes = 0
        self.succeeded = False
        self._since = time.monotonic()  # the last success, or the start

    def on_success(self) -> None:
        self.strikes = 0
        self.succeeded = True
        self._since = time.monotonic()

    def on_failure(self, failures_in_a_row: int, final: bool, message: str) -> str | None:
        """Count a failed attempt; the breaker's message when it opens now."""
        if not self.succeeded or failures_in_a_row == 2 or (final and failures_in_a_row == 1):
            self.strikes += 1
        limit = self.threshold if self.succeeded else min(FIRST_STRIKES, self.threshold)
        if self.strikes < limit:
            return None
        return (f"{self.name}: stopped after {self.strikes} consecutive failed requests with no success "
                f"(circuit breaker). Last error: {message}. Check the API key, base_url, model and that the "
                "server is up; finished answers are cached and a rerun resumes from them")

    def on_rate_limited(self, message: str) -> str | None:
        """Count a 429; the breaker's message when nothing succeeded for ``rate_limit_patience`` seconds."""
        waited = time.monotonic() - self._since
        if waited < self.rate_limit_patience:
            return None
        return (f"{self.name}: stopped after {waited:.0f} s in which every request was rate limited and none "
                f"succeeded (circuit breaker). Last error: {message}. Lower max_concurrency or "
                "requests_per_minute, or check the account's quota; finished answers are cached")
