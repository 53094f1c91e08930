"""Request leases: concurrent runs on one cache pay for each request once; a dead run's lease expires."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from synthgen.llms import leases
from synthgen.llms.leases import RequestLeases
from synthgen.testing.servers.openai import OpenAITestServer

ROOT = Path(__file__).parents[2]
KEY = "ab" * 20


def test_one_holder_at_a_time_and_released_leases_are_free(tmp_path: Path) -> None:
    mine, theirs = RequestLeases(tmp_path), RequestLeases(tmp_path)
    assert mine.acquire(KEY)
    assert not theirs.acquire(KEY) and theirs.held_elsewhere(KEY)
    mine.release(KEY)
    assert not theirs.held_elsewhere(KEY) and theirs.acquire(KEY)


def test_a_lease_of_a_dead_process_is_taken_over(tmp_path: Path) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    path = tmp_path / "leases" / "requests" / KEY[:2] / f"{KEY}.lease"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"host": leases._HOST, "pid": int(dead.stdout)}))
    assert RequestLeases(tmp_path).acquire(KEY)


def test_a_lease_not_refreshed_goes_stale(tmp_path: Path) -> None:
    path = tmp_path / "leases" / "requests" / KEY[:2] / f"{KEY}.lease"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"host": "another-node", "pid": 1}))
    assert not RequestLeases(tmp_path).acquire(KEY), "a fresh lease of another node is respected"
    old = time.time() - leases.STALE_AFTER - 1
    os.utime(path, (old, old))
    assert RequestLeases(tmp_path).acquire(KEY)


def test_two_pipelines_sharing_a_step_started_together_pay_each_request_once(tmp_path: Path) -> None:
    with OpenAITestServer(model="m", latency=0.05) as srv:
        runs = [subprocess.Popen([sys.executable, "-m", "tests.runner.llm_pipeline", str(tmp_path), srv.base_url,
                                  "300", "16", name], cwd=ROOT, env={**os.environ, "OPENAI_API_KEY": "k"},
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for name in ("one", "two")]
        outputs = [run.communicate(timeout=300) for run in runs]
        assert [run.returncode for run in runs] == [0, 0], [err[-2000:] for _, err in outputs]
        assert all("ROWS 300" in out for out, _ in outputs)
        assert srv.counters.requests == 300 and srv.counters.duplicates == 0

