"""Offline batch generation from the command line: exit code 3 while jobs are pending, ``synthgen batch
status`` and ``cancel``, and a rerun that collects what the jobs finished."""

from __future__ import annotations

from synthgen.testing.servers.openai import OpenAITestServer
from tests.cli.conftest import RunCli, server_llm

OFFLINE = ["run", "pipeline=text_generation", "num_rows=3", "llm.use_offline_batch_generation=true"]


def test_pending_run_exits_3_then_status_cancel_and_rerun(run_cli: RunCli, server: OpenAITestServer) -> None:
    server.batches.completion_delay = 3600
    pending = run_cli("synthgen.cli.main", *OFFLINE, *server_llm(server))
    assert pending.returncode == 3, pending.stderr
    assert "pending:" in pending.stderr and "run the same command again" in pending.stderr
    assert "Traceback" not in pending.stderr and server.batches.counters.created == 1

    status = run_cli("synthgen.cli.main", "batch", "status", "text_generation")
    assert status.returncode == 0, status.stderr
    assert "generate (openai LLM 'test-model')" in status.stdout and "batch_000001: in_progress" in status.stdout

    cancelled = run_cli("synthgen.cli.main", "batch", "cancel", "text_generation")
    assert cancelled.returncode == 0, cancelled.stderr
    assert "cancelled 1 job(s): batch_000001" in cancelled.stdout and server.batches.counters.cancelled == 1

    collected = run_cli("synthgen.cli.main", *OFFLINE, *server_llm(server))
    # The cancelled job answered none of its requests: the rows are written, marked failed (exit 4).
    assert collected.returncode == 4, collected.stderr
    assert "default: 3 rows" in collected.stdout and server.batches.counters.created == 1
    assert "FAILED: 3 of 3 rows in step 'generate'" in collected.stdout
    assert "batch_cancelled" in collected.stderr.strip().splitlines()[-1]

    nothing = run_cli("synthgen.cli.main", "batch", "status", "text_generation")
    assert nothing.returncode == 1
    assert nothing.stderr.strip().startswith("error: pipeline 'text_generation' has no pending offline batch jobs")


def test_batch_commands_name_unknown_pipelines(run_cli: RunCli, server: OpenAITestServer) -> None:
    server.batches.completion_delay = 3600
    assert run_cli("synthgen.cli.main", *OFFLINE, *server_llm(server)).returncode == 3
    unknown = run_cli("synthgen.cli.main", "batch", "cancel", "text_generaton")
    assert unknown.returncode == 1 and "no cached pipeline named 'text_generaton'" in unknown.stderr
    assert server.batches.counters.cancelled == 0
