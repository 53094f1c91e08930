"""Flow control for the request engine: an adaptive concurrency limit and token buckets.

Both run on the engine's event loop (single thread), so they need no locks of their own.
"""

from __future__ import annotations

import asyncio
import time


class AdaptiveLimit:
    """At most ``limit`` requests in flight; the limit drops on rate limiting and climbs back on success.

    Decreases are multiplicative, at most one a second and one per round of requests: each request
    notes the ``epoch`` it was sent in, and a 429 of a request sent before the last decrease is old news
    (a burst of 429s is one signal, not fifty). Increases are small and additive, so a server that
    recovers gets its full concurrency back within a few hundred successful requests, and a provider that
    answers a steady fraction of requests with 429 whatever the concurrency does not drive the limit down
    to one. A 429 never uses up a request's retries, so waiting a second between decreases costs time,
    not rows.
    """

    def __init__(self, maximum: int, decrease: float = 0.75, step: float = 0.25, min_interval: float = 1.0) -> None:
        self.maximum = maximum
        self.limit = float(maximum)
        self.in_flight = 0
        self.peak = 0
        self._decrease = decrease
        self._step = step
        self.epoch = 0
        self._min_interval = min_interval
        self._last_decrease = float("-inf")
        self._cond = asyncio.Condition()

    async def __aenter__(self) -> None:
        async with self._cond:
            await self._cond.wait_for(lambda: self.in_flight < int(self.limit))
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)

    async def __aexit__(self, *exc: object) -> None:
        async with self._cond:
            self.in_flight -= 1
            free = int(self.limit) - self.in_flight
            if free > 0:
                self._cond.notify(free)

    def on_success(self) -> None:
        self.limit = min(float(self.maximum), self.limit + self._step)

    def on_rate_limited(self, epoch: int | None = None) -> None:
        """A request sent in ``epoch`` (default: the current one) was rate limited."""
        if epoch is not None and epoch != self.epoch:
            return  # sent before the last decrease: that decrease already answered it
        now = time.monotonic()
        if now - self._last_decrease < self._min_interval:
            return
        self._last_decrease = now
        self.epoch += 1
        self.limit = max(1.0, self.limit * self._decrease)


class TokenBucket:
    """``per_minute`` units a minute with bursts up to one minute's worth (as aiolimiter does)."""

    def __init__(self, per_minute: int) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self.level = self.capacity
        self._stamp = time.monotonic()

    async def acquire(self, amount: float = 1.0) -> float:
        """Wait until ``amount`` units are free and take them; returns what was taken."""
        amount = min(amount, self.capacity)  # a request larger than the bucket waits for a full bucket
        while True:
            now = time.monotonic()
            self.level = min(self.capacity, self.level + (now - self._stamp) * self.rate)
            self._stamp = now
            if self.level >= amount:
                self.level -= amount
                return amount
            await asyncio.sleep((amount - self.level) / self.rate)

    def settle(self, taken: float, used: float) -> None:
        """Correct an estimate once the real amount is known: an answer longer than estimated leaves a
        debt (the level goes below zero and later requests wait it out), a shorter one gives units back."""
        self.level = min(self.capacity, self.level + taken - used)
