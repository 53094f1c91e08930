"""Exit codes of a run with failed rows: 4 with the dataset written, 0 once a rerun retried them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from synthgen.testing.servers.openai import OpenAITestServer
from tests.cli.conftest import RunCli, server_llm

REFUSED = ("haiku about autumn", "seasons on Earth")  # rows 1 and 7 of the bundled instructions


def refuse_two(body: dict[str, Any]) -> int | None:
    return 500 if any(text in str(body.get("messages")) for text in REFUSED) else None


def test_failed_rows_exit_4_then_a_rerun_retries_only_them(run_cli: RunCli, server: OpenAITestServer,
                                                            tmp_path: Path) -> None:
    server.fail_fn = refuse_two
    args = ["run", "pipeline=text_generation", *server_llm(server), "num_rows=10", "llm.max_retries=1"]
    done = run_cli("synthgen.cli.main", *args)
    assert done.returncode == 4, done.stderr
    assert "FAILED: 2 of 10 rows in step 'generate'" in done.stdout
    card = next(tmp_path.glob("outputs/*/*/distiset/README.md")).read_text()
    assert "| generate | 2 | 10 |" in card, "the dataset is written, and its card records the failures"
    recorded = next(tmp_path.glob("outputs/*/*/pipeline.yaml"))

    kept = run_cli("synthgen.cli.main", "pipeline", "run", "--config", str(recorded), "--output-dir", "kept",
                   "--no-retry-failed")
    assert kept.returncode == 4 and server.counters.requests == 12, kept.stderr  # 10 + 2 retries, none new

    server.fail_fn = None
    sent = server.counters.requests
    healed = run_cli("synthgen.cli.main", *args)
    assert healed.returncode == 0, healed.stderr
    assert server.counters.requests - sent == 2, "exactly the failed rows are sent again"
    assert "FAILED" not in healed.stdout


def test_a_dead_server_is_an_error_not_a_dataset_of_none(run_cli: RunCli, tmp_path: Path) -> None:
    with OpenAITestServer(model="test-model") as gone:
        pass  # its port is closed now
    done = run_cli("synthgen.cli.main", "run", "pipeline=text_generation", *server_llm(gone), "num_rows=8")
    assert done.returncode == 1
    [line] = done.stderr.strip().splitlines()[-1:]
    assert line.startswith("error: ") and "circuit breaker" in line
    assert not list(tmp_path.glob("outputs/*/*/distiset")), "no dataset of None rows is written"
