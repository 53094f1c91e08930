"""Leases (synthgen.leases) on request keys: concurrent runs on one cache pay for each request once; a dead
run's lease expires."""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
import time
from pathlib import Path

from synthgen import leases
from synthgen.leases import LocalLeases
from synthgen.testing.servers.openai import OpenAITestServer

ROOT = Path(__file__).parents[2]
KEY = "ab" * 20


def test_one_holder_at_a_time_and_released_leases_are_free(tmp_path: Path) -> None:
    mine, theirs = LocalLeases(tmp_path, "requests"), LocalLeases(tmp_path, "requests")
    assert mine.acquire(KEY)
    assert not theirs.acquire(KEY) and theirs.held_elsewhere(KEY)
    mine.release(KEY)
    assert not theirs.held_elsewhere(KEY) and theirs.acquire(KEY)


def test_a_lease_of_a_dead_process_is_taken_over(tmp_path: Path) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    path = tmp_path / "leases" / "requests" / KEY[:2] / f"{KEY}.lease"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"host": leases.HOST, "pid": int(dead.stdout)}))
    assert LocalLeases(tmp_path, "requests").acquire(KEY)


RACER = """
import sys, time
from pathlib import Path
from synthgen.leases import LocalLeases
root, start, keys = Path(sys.argv[1]), float(sys.argv[2]), sys.argv[3:]
leases = LocalLeases(root, "requests")
time.sleep(max(0.0, start - time.time()))
print(" ".join(key for key in keys if leases.acquire(key)), flush=True)
sys.stdin.read()  # stay alive, holding what we won: a racer started late must not see a dead winner
"""


def test_runs_taking_over_a_dead_runs_leases_together_get_one_each(tmp_path: Path) -> None:
    """The killed run's in-flight leases are seen by every other run at once: exactly one of them may
    take each over, or a request is paid twice (the race CI caught: a taker deleting a fresh lease)."""
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    keys = [f"{i:040x}" for i in range(300)]
    for key in keys:
        path = tmp_path / "leases" / "requests" / key[:2] / f"{key}.lease"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"host": leases.HOST, "pid": int(dead.stdout)}))
    start = time.time() + 3
    racers = [subprocess.Popen([sys.executable, "-c", RACER, str(tmp_path), str(start), *keys], cwd=ROOT,
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) for _ in range(4)]
    won = [key for racer in racers for key in racer.stdout.readline().split()]  # type: ignore[union-attr]
    for racer in racers:
        racer.communicate(timeout=120)
    assert sorted(won) == keys, "every dead lease is taken over by exactly one run"


def test_a_lease_not_refreshed_goes_stale(tmp_path: Path) -> None:
    path = tmp_path / "leases" / "requests" / KEY[:2] / f"{KEY}.lease"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"host": "another-node", "pid": 1}))
    assert not LocalLeases(tmp_path, "requests").acquire(KEY), "a fresh lease of another node is respected"
    old = time.time() - leases.STALE_AFTER - 1
    os.utime(path, (old, old))
    assert LocalLeases(tmp_path, "requests").acquire(KEY)


def test_two_pipelines_sharing_a_step_started_together_pay_each_request_once(tmp_path: Path) -> None:
    with OpenAITestServer(model="m", latency=0.05) as srv:
        runs = [subprocess.Popen([sys.executable, "-m", "tests.runner.llm_pipeline", str(tmp_path), srv.base_url,
                                  "300", "16", name], cwd=ROOT, env={**os.environ, "OPENAI_API_KEY": "k"},
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for name in ("one", "two")]
        outputs = [run.communicate(timeout=300) for run in runs]
        assert [run.returncode for run in runs] == [0, 0], [err[-2000:] for _, err in outputs]
        assert all("ROWS 300" in out for out, _ in outputs)
        assert srv.counters.requests == 300 and srv.counters.duplicates == 0



def _acquire_and_exit(root: str) -> None:
    lease = leases.leases_at(root, "requests")
    assert lease is not None and lease.acquire(KEY)
    os._exit(0)  # dies holding it


def test_a_forked_child_holds_leases_in_its_own_name(tmp_path: Path) -> None:
    assert leases.leases_at(str(tmp_path), "requests") is not None  # the parent's, made before the fork
    child = multiprocessing.get_context("fork").Process(target=_acquire_and_exit, args=(str(tmp_path),))
    child.start()
    child.join()
    path = tmp_path / "leases" / "requests" / KEY[:2] / f"{KEY}.lease"
    assert json.loads(path.read_text())["pid"] == child.pid
    assert LocalLeases(tmp_path, "requests").acquire(KEY), "its holder is dead: taken over"
