"""Offline batch generation end to end: pending runs, collection by custom_id, partial failures, expiry,
half-way submissions, kill -9 while submitting, Ctrl+C while polling, cancel, use_cache=False.

Both backends run against their test servers (OpenAI files + batches, Anthropic message batches), whose
jobs end when ``server.batches.completion_delay`` has passed: tests set it to 0 to "finish" the jobs.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from synthgen.errors import LLMError, OfflineBatchGenerationNotFinished, StepError
from synthgen.llms import AnthropicLLM, OpenAILLM
from synthgen.llms.anthropic_batch import AnthropicBatchAPI
from synthgen.llms.openai_batch import OpenAIBatchAPI
from synthgen.llms.requests import make_request
from synthgen.testing.servers import AnthropicTestServer, OpenAITestServer
from synthgen.testing.servers.base import TestServerBase

from .offline_pipeline import build

ROOT = str(Path(__file__).parents[2])
CREATE_PATH = {"openai": "/v1/batches", "anthropic": "/v1/messages/batches"}


@pytest.fixture(params=["openai", "anthropic"])
def served(request: pytest.FixtureRequest) -> Iterator[tuple[str, TestServerBase, str]]:
    """``(backend, server, base_url)`` with jobs that stay pending until the test ends them."""
    server: TestServerBase = OpenAITestServer() if request.param == "openai" else AnthropicTestServer()
    server.start()
    server.batches.completion_delay = 3600  # type: ignore[attr-defined]
    url = server.base_url if request.param == "openai" else server.url
    try:
        yield request.param, server, url
    finally:
        server.stop()


def rows(distiset: Any) -> list[dict[str, Any]]:
    return distiset["default"]["train"].to_list()


def finish_jobs(server: Any) -> None:
    server.batches.completion_delay = 0


def submitted(server: Any) -> set[str]:
    return set(server.batches.counters.submitted)


# ---- the main flow -------------------------------------------------------------------------------
def test_first_run_is_pending_then_a_later_run_collects_every_row_by_custom_id(served, tmp_path) -> None:  # type: ignore[no-untyped-def]
    backend, server, url = served
    first = build(str(tmp_path), backend, url)
    with pytest.raises(OfflineBatchGenerationNotFinished) as pending:
        first.run()
    assert server.batches.counters.created == 1 and len(submitted(server)) == 12
    assert "run the same command again to collect them" in str(pending.value)
    assert "step 'gen'" in str(pending.value)
    assert first.steps["gen"].llm.jobs_ids == pending.value.jobs_ids  # type: ignore[attr-defined]
    [pdir] = [p for p in (tmp_path / "offline-demo").iterdir() if p.is_dir()]
    assert '"gen"' in (pdir / "offline_batch_jobs.json").read_text()

    with pytest.raises(OfflineBatchGenerationNotFinished):  # before the jobs end: no new submission
        build(str(tmp_path), backend, url).run()
    assert server.batches.counters.created == 1

    finish_jobs(server)
    out = rows(build(str(tmp_path), backend, url).run())
    # Results come back shuffled; each row still gets the answer to its own prompt.
    assert [r["generation"] for r in out] == [f"Echo: say {i}" for i in range(12)]
    assert [r["length"] for r in out] == [len(f"Echo: say {i}") for i in range(12)]
    assert server.batches.counters.created == 1 and server.batches.counters.duplicate_requests == 0
    assert not (pdir / "offline_batch_jobs.json").exists()


def test_results_land_in_the_request_cache_so_an_online_run_costs_nothing(served, tmp_path) -> None:  # type: ignore[no-untyped-def]
    backend, server, url = served
    finish_jobs(server)
    build(str(tmp_path), backend, url).run()
    before = server.counters.requests
    online = build(str(tmp_path), backend, url, use_offline_batch_generation=False)
    online.steps["gen"].input_batch_size = 4  # other batches than the offline run's one: no step-cache hit
    out = rows(online.run())
    assert [r["generation"] for r in out] == [f"Echo: say {i}" for i in range(12)]
    assert server.counters.requests == before, "every online request was answered from the request cache"


def test_failed_and_expired_requests_get_none_and_an_error_and_are_not_resubmitted(served, tmp_path) -> None:  # type: ignore[no-untyped-def]
    backend, server, url = served
    server.batches.failure_rate, server.batches.expire, server.batches.expired_fraction = 0.25, True, 0.25
    finish_jobs(server)
    # A quarter failed and a quarter expired: about half the rows; this test is about how they are marked.
    out = rows(build(str(tmp_path), backend, url, rows=20).run(max_failed_fraction=1))
    [job] = server.batches.jobs.values()
    lost = [r for r in out if r["generation"] is None]
    assert lost and len(out) == 20, "no row is lost to a failed request"
    outcomes = {server.batches.outcome(job, cid) for cid, _ in job.items}
    assert {"errored", "expired", "succeeded"} <= outcomes
    errors = [r["synthgen_metadata"]["error_gen"] for r in lost]
    assert all(e and ("failed" in e or "expired" in e) for e in errors)
    assert sum(server.batches.outcome(job, cid) != "succeeded" for cid, _ in job.items) == len(lost)

    build(str(tmp_path), backend, url, rows=20, offline_batch_max_requests=7).run(max_failed_fraction=1)
    assert server.batches.counters.created == 1, "failed requests are not resubmitted unless asked"

    server.batches.expire = False
    retried = rows(build(str(tmp_path), backend, url, rows=20, resubmit_failed=True).run(max_failed_fraction=1))
    assert server.batches.counters.created == 2
    second = list(server.batches.jobs.values())[1]
    assert len(second.items) == len(lost), "only the failed requests are submitted again"
    assert sum(r["generation"] is None for r in retried) < len(lost)


def test_a_submission_that_fails_half_way_submits_only_the_rest_next_time(served, tmp_path) -> None:  # type: ignore[no-untyped-def]
    backend, server, url = served
    server.inject(500, path=CREATE_PATH[backend], after=3)
    with pytest.raises(StepError, match="could not submit batch job 4 of 5") as failed:
        build(str(tmp_path), backend, url, rows=15, offline_batch_max_requests=3, max_retries=0).run()
    assert "run the same command again to submit the rest" in str(failed.value)
    assert server.batches.counters.created == 3

    with pytest.raises(OfflineBatchGenerationNotFinished) as pending:
        build(str(tmp_path), backend, url, rows=15, offline_batch_max_requests=3).run()
    assert len(pending.value.jobs_ids) == 5 and server.batches.counters.created == 5
    assert server.batches.counters.duplicate_requests == 0 and len(submitted(server)) == 15


def _script(tmp_path: Path, backend: str, url: str, *extra: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": ROOT, "SYNTHGEN_LOG_LEVEL": "WARNING"}
    return subprocess.Popen([sys.executable, "-m", "tests.llms.offline_pipeline", str(tmp_path), backend, url, *extra],
                            cwd=ROOT, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def kill_9_and_wait(proc: subprocess.Popen[str]) -> None:
    """``kill -9`` a run and return once it and its replicas are dead. A replica (the process that
    submits the jobs) dies a moment after the driver, from the kernel's parent-death signal: without
    this wait it could still hear an answer in that moment and submit one more job."""
    replicas = psutil.Process(proc.pid).children(recursive=True)
    proc.kill()
    proc.wait(timeout=60)
    deadline = time.monotonic() + 60
    while any(map(_running, replicas)) and time.monotonic() < deadline:
        time.sleep(0.01)


def _running(process: psutil.Process) -> bool:
    try:
        return process.status() != psutil.STATUS_ZOMBIE  # a zombie runs no code: it is dead
    except psutil.NoSuchProcess:
        return False


def test_kill_9_while_submitting_then_rerun_creates_no_duplicate_job(served, tmp_path) -> None:  # type: ignore[no-untyped-def]
    backend, server, url = served
    procs: list[subprocess.Popen[str]] = []

    def kill_on_third(job: Any) -> None:
        # The job exists on the server, but the run dies before it hears the id: the worst moment.
        if server.batches.counters.created == 3:
            kill_9_and_wait(procs[0])  # before answering: the replica that submits must not hear it

    server.batches.on_create = kill_on_third
    procs.append(_script(tmp_path, backend, url, "15", "3"))
    procs[0].communicate(timeout=120)
    assert procs[0].returncode == -signal.SIGKILL and server.batches.counters.created == 3
    server.batches.on_create = None

    with pytest.raises(OfflineBatchGenerationNotFinished):
        build(str(tmp_path), backend, url, rows=15, offline_batch_max_requests=3).run()
    assert server.batches.counters.created == 5, "the job created before the kill is adopted, not created again"
    assert server.batches.counters.duplicate_requests == 0
    finish_jobs(server)
    out = rows(build(str(tmp_path), backend, url, rows=15, offline_batch_max_requests=3).run())
    assert [r["generation"] for r in out] == [f"Echo: say {i}" for i in range(15)]


def test_ctrl_c_while_blocking_on_polls_ends_pending_and_resumable(tmp_path, openai_server) -> None:  # type: ignore[no-untyped-def]
    openai_server.batches.completion_delay = 3600
    proc = _script(tmp_path, "openai", openai_server.base_url, "6", "-", "0.2")
    deadline = time.monotonic() + 60
    while openai_server.counters.requests < 6 and time.monotonic() < deadline:  # upload, create, then polls
        time.sleep(0.1)
    assert proc.poll() is None, "blocking mode keeps polling instead of ending the run"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 3, err
    assert "pending" in err and "run the same command again" in err
    assert openai_server.batches.counters.cancelled == 0, "Ctrl+C does not cancel the remote jobs"

    finish_jobs(openai_server)
    out = rows(build(str(tmp_path), "openai", openai_server.base_url, rows=6).run())
    assert [r["generation"] for r in out] == [f"Echo: say {i}" for i in range(6)]
    assert openai_server.batches.counters.created == 1


def test_blocking_mode_waits_for_the_jobs_and_returns_the_dataset(tmp_path, anthropic_server) -> None:  # type: ignore[no-untyped-def]
    anthropic_server.batches.completion_delay = 1.0
    pipeline = build(str(tmp_path), "anthropic", anthropic_server.url, rows=4,
                     offline_batch_generation_block_until_done=0.2)
    assert [r["generation"] for r in rows(pipeline.run())] == [f"Echo: say {i}" for i in range(4)]


def test_use_cache_false_warns_then_submits_new_jobs(served, tmp_path, capfd) -> None:  # type: ignore[no-untyped-def]
    backend, server, url = served
    with pytest.raises(OfflineBatchGenerationNotFinished):
        build(str(tmp_path), backend, url, rows=4).run()
    capfd.readouterr()
    with pytest.raises(OfflineBatchGenerationNotFinished) as pending:
        build(str(tmp_path), backend, url, rows=4).run(use_cache=False)
    log = capfd.readouterr().err
    warning = "will submit its requests as NEW offline batch jobs, billed again"
    assert warning in log and log.index(warning) < log.index("load stage 1/3"), "warned before any work"
    assert "WITHOUT use_cache=False" in str(pending.value)
    assert server.batches.counters.created == 2
    finish_jobs(server)
    assert len(rows(build(str(tmp_path), backend, url, rows=4).run())) == 4
    assert server.batches.counters.created == 2, "a normal rerun collects the jobs, it does not submit"


# ---- the batch APIs on their own ---------------------------------------------------------------------
@pytest.mark.parametrize("api_cls, requests, size", [(OpenAIBatchAPI, 50_000, 200 * 2**20),
                                                      (AnthropicBatchAPI, 100_000, 256 * 2**20)])
def test_limits_never_exceed_the_platforms_and_custom_id_is_the_request_key(api_cls, requests, size) -> None:  # type: ignore[no-untyped-def]
    api = api_cls("m", None, max_requests=10**9, max_bytes=10**12)
    assert (api.max_requests, api.max_bytes) == (requests, size)
    request = make_request({"backend": "x"}, "hello", {}, None, 0)
    assert b'"custom_id": "' + request.key.encode() + b'"' in api.encode(request)


def test_jobs_are_split_by_size_too(served, tmp_path) -> None:  # type: ignore[no-untyped-def]
    backend, server, url = served
    finish_jobs(server)
    # Every entry is larger than 1 byte: each job takes one request (a job never goes over the limit
    # unless one request alone does).
    out = rows(build(str(tmp_path), backend, url, rows=6, offline_batch_max_bytes=1).run())
    jobs = list(server.batches.jobs.values())
    assert [len(j.items) for j in jobs] == [1] * 6
    assert [r["generation"] for r in out] == [f"Echo: say {i}" for i in range(6)]


def test_agenerate_is_refused_in_offline_mode(openai_server) -> None:  # type: ignore[no-untyped-def]
    import asyncio

    llm = OpenAILLM(model="m", base_url=openai_server.base_url, api_key="k", use_offline_batch_generation=True)
    llm.load()
    try:
        with pytest.raises(LLMError, match="uses offline batch generation"):
            asyncio.run(llm.agenerate("x"))
    finally:
        llm.unload()


def test_offline_mode_is_not_part_of_the_fingerprint() -> None:
    online = AnthropicLLM(model="m", api_key="k").fingerprint_params()
    offline = AnthropicLLM(model="m", api_key="k", use_offline_batch_generation=True,
                           offline_batch_generation_block_until_done=5).fingerprint_params()
    assert online == offline, "online and offline send the same requests, so they share caches"
