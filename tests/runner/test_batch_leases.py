"""Batch leases: runs sharing one cache compute each batch once, and a killed run's batch lease is taken
over by the next run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from synthgen import leases
from synthgen.runner.batch_leases import BatchClaims
from synthgen.runner.messages import BatchTask
from synthgen.store import Store
from synthgen.testing.steps import batches_run
from tests.runner.shared_step_pipeline import BATCH, ROWS, shared_step

ROOT = Path(__file__).parents[2]
BATCHES = -(-ROWS // BATCH)
pytestmark = pytest.mark.timeout(300)


def start(cache: Path, name: str, counts: Path, delay: float, at: float) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "tests.runner.shared_step_pipeline", str(cache), name, str(counts),
                             str(delay), str(at)], cwd=ROOT, env={**os.environ, "SYNTHGEN_LOG_LEVEL": "WARNING"},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def rows(cache: Path, name: str) -> list[dict[str, int]]:
    return shared_step(str(cache), name).run()["default"]["train"].to_list()  # type: ignore[no-any-return]


def test_a_batch_another_run_holds_is_set_aside_until_its_lease_is_gone(tmp_path: Path) -> None:
    ours, theirs = BatchClaims(Store(tmp_path)), leases.LocalLeases(tmp_path, "batches")
    task = BatchTask("slow", 0, "cd" * 20)
    assert theirs.acquire(task.key)
    assert not ours.claim(task) and ours.waiting == [task]
    assert ours.due() == [], "still held: stays set aside"
    theirs.release(task.key)
    time.sleep(0.3)  # due() looks at most every LOOK_EVERY seconds
    assert ours.due() == [task] and ours.waiting == []
    assert ours.claim(task) and not theirs.acquire(task.key)
    ours.close()
    assert theirs.acquire(task.key), "closing a run gives its leases back"


def test_two_runs_sharing_a_slow_step_started_together_compute_each_batch_once(tmp_path: Path) -> None:
    counts = tmp_path / "counts"
    counts.mkdir()
    at = time.time() + 8  # both drivers are built and waiting: they miss the cache in the same moment
    runs = [start(tmp_path / "cache", name, counts, 0.5, at) for name in ("one", "two")]
    outputs = [run.communicate(timeout=240) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], [err[-2000:] for _, err in outputs]
    assert all(f"ROWS {ROWS}" in out for out, _ in outputs)
    assert batches_run(counts, "slow") == BATCHES, "each batch of the shared step computed once in all"
    sequential = rows(tmp_path / "sequential", "one")
    assert [r["tripled"] for r in sequential] == [3 * n for n in range(ROWS)]
    assert rows(tmp_path / "cache", "one") == rows(tmp_path / "cache", "two") == sequential
    assert batches_run(counts, "slow") == BATCHES, "the datasets came from the cache"
    assert not list((tmp_path / "cache" / "leases" / "batches").rglob("*.lease")), "every lease given back"


def test_the_batch_lease_of_a_killed_run_is_taken_over(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    counts = tmp_path / "counts"
    counts.mkdir()
    victim = start(tmp_path, "victim", counts, 30.0, time.time())
    deadline = time.monotonic() + 120
    while not (held := list((tmp_path / "leases" / "batches").rglob("*.lease"))) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert held, "the run never leased a batch"
    assert json.loads(held[0].read_text())["pid"] == victim.pid
    os.kill(victim.pid, signal.SIGKILL)
    victim.communicate()
    assert held[0].exists(), "a SIGKILLed run leaves its lease behind"
    # Expiry by age would take an hour: the run below can only go on by seeing that the holder is dead.
    monkeypatch.setattr(leases, "STALE_AFTER", 3600.0)
    assert [r["tripled"] for r in rows(tmp_path, "next")] == [3 * n for n in range(ROWS)]
    assert not held[0].exists(), "taken over, then given back"


def test_a_run_waiting_for_another_runs_batches_stops_at_ctrl_c_and_resumes_after_it(tmp_path: Path) -> None:
    counts, theirs, cache = tmp_path / "counts", tmp_path / "theirs", tmp_path / "cache"
    counts.mkdir()
    theirs.mkdir()
    holder = start(cache, "one", theirs, 60.0, time.time())  # leases every batch it submits, then sits on them
    deadline = time.monotonic() + 120
    while len(list((cache / "leases" / "batches").rglob("*.lease"))) < BATCHES and time.monotonic() < deadline:
        time.sleep(0.1)
    waiter = start(cache, "two", counts, 0.0, time.time())
    while not (cache / "two").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(3.0)  # its batches are formed and set aside
    waiter.send_signal(signal.SIGINT)
    _, err = waiter.communicate(timeout=60)  # long before the holder gives a single lease back
    assert waiter.returncode != 0 and "Run the same pipeline again to resume where it stopped" in err, err[-2000:]
    assert batches_run(counts, "slow") == 0, "the waiting run computed none of the batches held elsewhere"
    holder.kill()
    holder.communicate()
    assert [r["tripled"] for r in rows(cache, "two")] == [3 * n for n in range(ROWS)]
