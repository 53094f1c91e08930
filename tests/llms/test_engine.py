"""The request engine: window, retries, Retry-After, breaker, budget, cache, dedup, thread safety."""

from __future__ import annotations

import errno
import threading
import time

import pytest

from synthgen.errors import BudgetExceeded, LLMError
from synthgen.llms.engine import EngineSettings, RequestEngine
from synthgen.llms.requests import make_request, store_result, sync_result
from tests.llms.engine_doubles import Backend, Flaky, classify, requests


def test_keeps_max_concurrency_requests_in_flight(engine_for) -> None:
    backend = Backend(latency=0.05)
    engine = engine_for(backend, max_concurrency=8)
    results = engine.run(requests(40), None)
    assert [r.text for r in results] == [f"answer to prompt {i}" for i in range(40)]
    assert backend.peak == 8


def test_concurrent_callers_share_one_window(engine_for) -> None:
    # Two batches submitted from two threads overlap: the window spans batch boundaries. Nothing is
    # answered before 20 are in flight: a second thread that starts late cannot make them not overlap.
    backend = Backend(hold_until=20)
    engine = engine_for(backend, max_concurrency=20)
    threads = [threading.Thread(target=engine.run, args=(requests(10, sample=s), None)) for s in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert backend.peak == 20


def test_retry_after_is_honoured_then_the_request_succeeds(engine_for) -> None:
    backend = Backend(failures=[Flaky("429", retry_after=0.3)])
    engine = engine_for(backend)
    [result] = engine.run(requests(1), None)
    assert result.text == "answer to prompt 0"
    assert backend.times[1] - backend.times[0] >= 0.3
    assert engine.retries == 1


def test_rate_limiting_lowers_concurrency(engine_for) -> None:
    backend = Backend(failures=[Flaky("429", retry_after=0.01)])
    engine = engine_for(backend, max_concurrency=16)
    engine.run(requests(1), None)
    assert engine.limit.limit < 16


def test_after_max_retries_the_row_records_the_error(engine_for) -> None:
    backend = Backend(failures=[Flaky("500")] * 3)
    engine = engine_for(backend, max_retries=2)
    [result] = engine.run(requests(1), None)
    assert result.text is None
    assert result.error == "flaky 500 (after 3 attempt(s))"
    assert backend.sent == 3


def test_non_retryable_errors_are_not_retried(engine_for) -> None:
    backend = Backend(failures=[Flaky("auth")])
    engine = engine_for(backend, max_retries=5)
    [result] = engine.run(requests(1), None)
    assert result.text is None and backend.sent == 1


def test_circuit_breaker_stops_when_every_request_fails(engine_for) -> None:
    backend = Backend(always=Flaky("auth"))
    engine = engine_for(backend, circuit_breaker_threshold=5, max_concurrency=2)
    with pytest.raises(LLMError, match=r"5 consecutive failed requests.*Last error: flaky auth"):
        engine.run(requests(50), None)
    assert backend.sent < 50  # it stopped instead of trying every row
    with pytest.raises(LLMError):  # and stays open
        engine.run(requests(1), None)


def test_token_budget_stops_the_run(engine_for) -> None:
    backend = Backend()
    engine = engine_for(backend, max_tokens_budget=25, max_concurrency=1)
    with pytest.raises(BudgetExceeded, match=r"30 tokens used \(input\+output\) in this run of max_tokens_budget=25"):
        engine.run(requests(10), None)
    assert backend.sent == 3


def test_answers_are_cached_as_they_arrive(engine_for, active_store) -> None:
    backend = Backend()
    engine = engine_for(backend)
    first = engine.run(requests(5), active_store)
    again = engine.run(requests(5), active_store)
    assert [r.text for r in again] == [r.text for r in first]
    assert backend.sent == 5 and engine.cache_hits == 5


def test_an_answer_keeps_its_slot_until_it_is_written_and_is_fsynced_after(engine_for, active_store,
                                                                           monkeypatch) -> None:
    # A killed run loses the answers it paid for and had not yet handed to the OS: with a slow disk,
    # there are never more than max_concurrency requests sent and not yet written. The fsync (what a
    # power cut needs) comes after the slot, and before the request counts as done.
    written: list[str] = []
    synced: list[str] = []

    def slow_write(store, request, result, sync=True) -> None:  # type: ignore[no-untyped-def]
        time.sleep(0.03)
        store_result(store, request, result, sync)
        written.append(request.key)

    def slow_sync(store, request, result) -> None:  # type: ignore[no-untyped-def]
        time.sleep(0.03)
        sync_result(store, request, result)
        synced.append(request.key)

    monkeypatch.setattr("synthgen.llms.engine.store_result", slow_write)
    monkeypatch.setattr("synthgen.llms.engine.sync_result", slow_sync)
    backend, unwritten, unsynced = Backend(latency=0.01), [], []
    send = backend.send

    async def counting_send(request):  # type: ignore[no-untyped-def]
        unwritten.append(backend.sent - len(written))  # sent before this one and not yet written
        unsynced.append(len(written) - len(synced))
        return await send(request)

    backend.send = counting_send  # type: ignore[method-assign]
    engine = engine_for(backend, max_concurrency=3)
    assert all(r.text for r in engine.run(requests(12), active_store))
    assert sorted(written) == sorted(synced) and len(synced) == 12, "every answer fsynced before run() returns"
    assert max(unwritten) == 2, "this request and the others sent but not written fill the window"
    assert max(unsynced) > 0, "a slot is given back before the fsync"


def test_an_answer_whose_fsync_fails_is_rescued_and_still_returned(engine_for, active_store, monkeypatch) -> None:
    # The disk accepted the write but failed the fsync (EIO, or ENOSPC from delayed allocation): the
    # paid answer goes where the next run finds it, and this run uses it.
    rescued: list[str] = []

    def failing_sync(store, request, result) -> None:  # type: ignore[no-untyped-def]
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr("synthgen.llms.engine.sync_result", failing_sync)
    monkeypatch.setattr("synthgen.llms.engine.rescue_answer", lambda key, record, exc: rescued.append(key))
    results = engine_for(Backend()).run(requests(3), active_store)
    assert [r.text for r in results] == [f"answer to prompt {i}" for i in range(3)]
    assert sorted(rescued) == sorted(r.key for r in requests(3))


def test_failures_are_not_cached(engine_for, active_store) -> None:
    backend = Backend(failures=[Flaky("auth")])
    engine = engine_for(backend)
    assert engine.run(requests(1), active_store)[0].text is None
    assert engine.run(requests(1), active_store)[0].text == "answer to prompt 0"


def test_identical_requests_in_flight_are_sent_once(engine_for) -> None:
    backend = Backend(latency=0.05)
    engine = engine_for(backend)
    same = requests(1) * 4
    results = engine.run(same, None)
    assert [r.text for r in results] == ["answer to prompt 0"] * 4
    assert backend.sent == 1


def test_requests_per_minute_bounds_the_rate(engine_for) -> None:
    backend = Backend()
    engine = engine_for(backend, requests_per_minute=600)  # 10/s after a burst of 600
    engine._rpm.level = 0  # start with an empty bucket so the rate shows at once
    start = time.monotonic()
    engine.run(requests(5), None)
    assert time.monotonic() - start >= 0.4


def test_run_before_start_names_the_llm() -> None:
    engine = RequestEngine("openai LLM 'x'", Backend().send, classify, EngineSettings())
    with pytest.raises(LLMError, match="openai LLM 'x' is not loaded"):
        engine.run(requests(1), None)


def test_tokens_per_minute_paces_requests_by_their_token_estimate(engine_for) -> None:
    backend = Backend()
    engine = engine_for(backend, tokens_per_minute=1200)  # 20 tokens/s after a burst of 1,200
    engine._tpm.level = 0
    short = [make_request({"backend": "t", "model": "m"}, f"prompt {i}", {"max_new_tokens": 4}, None, 0)
             for i in range(3)]  # an estimate of 6 tokens each: 8 characters / 4 + 4 new tokens
    start = time.monotonic()
    engine.run(short, None)
    assert time.monotonic() - start >= 0.9  # 18 tokens at 20 a second
    assert backend.sent == 3


def test_tokens_per_minute_counts_the_tokens_an_answer_really_used(engine_for) -> None:
    backend = Backend()  # every answer: 3 input + 7 output tokens
    engine = engine_for(backend, tokens_per_minute=6000)
    request = make_request({"backend": "t", "model": "m"}, "x" * 400, {"max_new_tokens": 500}, None, 0)
    engine.run([request], None)  # 600 tokens reserved for the request, 10 used
    assert 6000 - 10 <= engine._tpm.level < 6000 - 5


def test_concurrency_recovers_once_rate_limiting_ends(engine_for) -> None:
    backend = Backend(latency=0.01, failures=[Flaky("429", retry_after=0.01)])
    engine = engine_for(backend, max_concurrency=16)
    engine.run(requests(1), None)
    assert engine.limit.limit < 16
    backend.peak = 0
    engine.run(requests(200, sample=1), None)
    assert engine.limit.limit == 16
    assert backend.peak == 16  # the window opened all the way again


def test_the_budget_counts_every_replica_of_the_step(engine_for, tmp_path) -> None:
    from synthgen import interrupts
    from synthgen.llms.spend import Spend

    interrupts.watch(str(tmp_path))
    try:
        other = Spend("gen")
        other.add(20)  # another replica of the step already used 20 tokens in this run
        engine = RequestEngine("test LLM 'm'", Backend().send, classify,
                               EngineSettings(max_tokens_budget=25, max_concurrency=1), spend=Spend("gen"))
        engine.start()
        try:
            with pytest.raises(BudgetExceeded, match=r"30 tokens used .* in this run of max_tokens_budget=25"):
                engine.run(requests(10), None)
        finally:
            engine.stop()
        assert engine.tokens_used == 10  # one answer of its own, then the run's total was over the budget
        unrelated = Spend("judge")
        unrelated.sync()
        assert unrelated.total == 0  # another step's spending is its own
    finally:
        interrupts.watch(None)
