"""The circuit breaker and 429 handling: a dead server stops any run at once, a flaky tail does not,
429s lower concurrency instead of using up retries."""

from __future__ import annotations

import asyncio
import time

import pytest

from synthgen.errors import LLMError
from synthgen.llms.breaker import FIRST_STRIKES, CircuitBreaker
from synthgen.llms.limits import AdaptiveLimit
from tests.llms.engine_doubles import Backend, Flaky, requests


def test_before_any_success_every_failed_attempt_strikes() -> None:
    breaker = CircuitBreaker("llm", threshold=10, rate_limit_patience=60)
    messages = [breaker.on_failure(1, final=False, message="HTTP 500") for _ in range(FIRST_STRIKES)]
    assert messages[:-1] == [None] * (FIRST_STRIKES - 1)
    assert messages[-1] is not None and "5 consecutive failed requests" in messages[-1]


def test_after_a_success_a_request_strikes_on_its_second_failure_or_a_final_one() -> None:
    breaker = CircuitBreaker("llm", threshold=2, rate_limit_patience=60)
    breaker.on_success()
    assert breaker.on_failure(1, final=False, message="500") is None and breaker.strikes == 0
    assert breaker.on_failure(2, final=False, message="500") is None and breaker.strikes == 1
    assert breaker.on_failure(1, final=True, message="401") is not None


class StoppedClock:
    """``time`` for the breaker and the limits, whose ``monotonic`` moves only when a test moves it: a
    loaded machine can pause a test between two calls for longer than any short real interval."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now

    def __getattr__(self, name: str) -> object:
        return getattr(time, name)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> StoppedClock:
    stopped = StoppedClock()
    monkeypatch.setattr("synthgen.llms.breaker.time", stopped)
    monkeypatch.setattr("synthgen.llms.limits.time", stopped)
    return stopped


def test_rate_limits_open_the_breaker_only_after_the_patience_with_no_success(clock: StoppedClock) -> None:
    breaker = CircuitBreaker("llm", threshold=10, rate_limit_patience=60)
    assert breaker.on_rate_limited("429") is None
    clock.now += 59
    assert breaker.on_rate_limited("429") is None
    clock.now += 1
    message = breaker.on_rate_limited("HTTP 429")
    assert message is not None and "every request was rate limited" in message
    breaker.on_success()
    assert breaker.on_rate_limited("429") is None


def test_the_limit_drops_once_per_round_not_once_per_429() -> None:
    limit = AdaptiveLimit(64, min_interval=0.0)
    epoch = limit.epoch
    for _ in range(50):  # a burst of 429s from one round of requests is one signal
        limit.on_rate_limited(epoch)
    assert limit.limit == 48
    limit.on_rate_limited(limit.epoch)  # a request sent after that decrease lowers it again
    assert limit.limit == 36


def test_the_limit_drops_at_most_once_a_second(clock: StoppedClock) -> None:
    limit = AdaptiveLimit(64)
    limit.on_rate_limited(limit.epoch)
    clock.now += 0.9
    limit.on_rate_limited(limit.epoch)  # a new round, but within the second: a steady 429 rate is no cap
    assert limit.limit == 48
    clock.now += 0.1
    limit.on_rate_limited(limit.epoch)  # a second later it drops again
    assert limit.limit == 36


def test_429s_do_not_use_up_a_requests_retries(engine_for) -> None:
    backend = Backend(failures=[Flaky("429", retry_after=0.01)] * 10)
    engine = engine_for(backend, max_retries=2)
    [result] = engine.run(requests(1), None)
    assert result.text == "answer to prompt 0" and backend.sent == 11


def test_a_tail_of_failing_rows_after_successes_does_not_open_the_breaker(engine_for) -> None:
    backend = Backend(failures=[])
    engine = engine_for(backend, max_retries=3, circuit_breaker_threshold=10, max_concurrency=4)
    engine.run(requests(20), None)
    backend.always = Flaky("500")
    results = engine.run(requests(3, sample=1), None)  # 3 rows keep failing: row errors, not a dead server
    assert [r.text for r in results] == [None] * 3 and all("flaky 500 (after 4 attempt(s))" == r.error for r in results)


def test_a_dead_server_opens_the_breaker_within_the_first_wave(engine_for) -> None:
    backend = Backend(always=Flaky("500"))
    engine = engine_for(backend, max_concurrency=8, max_retries=6)
    with pytest.raises(LLMError, match="circuit breaker"):
        engine.run(requests(300), None)
    assert backend.sent <= 16


def test_a_stopping_run_sends_no_new_request(engine_for, tmp_path, monkeypatch) -> None:
    from synthgen import interrupts

    run_dir = str(tmp_path / ".run")
    interrupts.watch(run_dir)
    try:
        backend = Backend(latency=0.05)
        engine = engine_for(backend, max_concurrency=2)
        engine.run(requests(2), None)
        interrupts.request_stop(run_dir)
        from synthgen.errors import PipelineInterrupted

        with pytest.raises(PipelineInterrupted, match="the run is stopping"):
            engine.run(requests(10, sample=1), None)
        assert backend.sent == 2
    finally:
        interrupts.watch(None)


def testsleep_unless_stopping_returns_early_on_a_stop(tmp_path) -> None:
    from synthgen import interrupts
    from synthgen.llms.engine import sleep_unless_stopping

    run_dir = str(tmp_path / ".run")
    interrupts.watch(run_dir)
    interrupts.request_stop(run_dir)
    try:
        start = time.monotonic()
        asyncio.run(sleep_unless_stopping(30))
        assert time.monotonic() - start < 1
    finally:
        interrupts.watch(None)
