"""Stopping a run at any moment loses nothing written, and the rerun's dataset equals an uninterrupted
run's: no row missing, none duplicated, same order. No worker outlives its run."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from synthgen.runner.worker_process import ENTRY as WORKER_ENTRY

from .pipelines import chain, wait_for_stop_request

SCRIPT = str(Path(__file__).with_name("pipelines.py"))
ROOT = str(Path(__file__).parents[2])
COUNT, DELAY = 300, 0.08


def start(cache: Path, counts: Path) -> subprocess.Popen[str]:
    # ROOT for `tests.runner.pipelines`, then the caller's path: the synthgen under test, not another one
    path = os.pathsep.join(p for p in (ROOT, os.environ.get("PYTHONPATH")) if p)
    env = {**os.environ, "PYTHONPATH": path, "SYNTHGEN_LOG_LEVEL": "WARNING"}
    return subprocess.Popen([sys.executable, "-m", "tests.runner.pipelines", str(cache), str(COUNT), str(DELAY),
                             str(counts)], cwd=ROOT, env=env, text=True, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)


def descendants(proc: subprocess.Popen[str]) -> list[psutil.Process]:
    try:
        return psutil.Process(proc.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def assert_all_gone(procs: list[psutil.Process]) -> None:
    _, alive = psutil.wait_procs(procs, timeout=10)
    assert [p for p in alive if p.status() != psutil.STATUS_ZOMBIE] == []


def orphan_workers(since: float) -> list[psutil.Process]:
    """Workers started since ``since`` whose parent is gone: also those spawned just before a kill,
    which no snapshot of the children catches."""
    found = []
    for p in psutil.process_iter(["ppid", "cmdline", "create_time"]):
        cmdline = " ".join(p.info["cmdline"] or [])
        if p.info["ppid"] == 1 and WORKER_ENTRY in cmdline and p.info["create_time"] >= since - 1:
            found.append(p)
    return found


def assert_no_orphans(since: float) -> None:
    deadline = time.monotonic() + 10
    while orphan_workers(since) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert orphan_workers(since) == [], "a worker outlived its killed run"


def reference(tmp_path: Path) -> list[dict]:
    return chain(str(tmp_path / "ref"), count=COUNT)\
        .run()["default"]["train"].to_list()


def test_kill_9_at_twenty_moments_then_resume_gives_identical_dataset(tmp_path: Path) -> None:
    rng = random.Random(1234)
    cache, counts = tmp_path / "cache", tmp_path / "counts"
    counts.mkdir()
    began = time.time()
    for attempt in range(20):
        proc = start(cache, counts)
        time.sleep(rng.uniform(0.3, 6.0))
        workers = descendants(proc)
        if attempt % 4 == 3 and workers:  # every fourth time kill a worker instead of the main process
            rng.choice(workers).kill()
            proc.wait(60)
        else:
            proc.kill()
            proc.wait(10)
        assert_all_gone(workers)
    assert_no_orphans(began)
    final = chain(str(cache), count=COUNT).run()["default"]["train"].to_list()
    assert final == reference(tmp_path)


def test_ctrl_c_finishes_in_flight_batches_and_resumes(tmp_path: Path) -> None:
    cache, counts = tmp_path / "cache", tmp_path / "counts"
    counts.mkdir()
    proc = start(cache, counts)
    deadline = time.monotonic() + 60  # mid-run: once `a` has written a batch (a fixed sleep fails under load)
    while not (counts / "a").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    workers = descendants(proc)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode != 0
    assert "Run the same pipeline again to resume where it stopped" in err
    assert (counts / "a.unloaded").exists(), "the first Ctrl+C lets replicas unload"
    assert_all_gone(workers)
    done_before = len((counts / "a").read_text().splitlines()) if (counts / "a").exists() else 0
    final = chain(str(cache), count=COUNT, count_dir=str(counts)).run()["default"]["train"].to_list()
    assert final == reference(tmp_path)
    # in-flight batches were finished and written before stopping, so none is computed twice
    assert done_before > 0
    assert len((counts / "a").read_text().splitlines()) == COUNT // 15


def test_second_ctrl_c_ends_workers_at_once(tmp_path: Path) -> None:
    cache, counts = tmp_path / "cache", tmp_path / "counts"
    counts.mkdir()
    proc = start(cache, counts)
    deadline = time.monotonic() + 60  # mid-run, its workers started: once `a` has written a batch
    while not (counts / "a").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    workers = descendants(proc)
    assert workers, "the run is mid-way: it has workers to end"
    proc.send_signal(signal.SIGINT)
    wait_for_stop_request(cache)  # the second Ctrl+C must not arrive with the first (they would be one)
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=15)
    assert proc.returncode != 0
    assert_all_gone(workers)


@pytest.mark.parametrize("moment", [0.5, 2.0])
def test_killed_run_keeps_what_was_written(tmp_path: Path, moment: float) -> None:
    began = time.time()
    proc = start(tmp_path / "cache", tmp_path / "counts")
    (tmp_path / "counts").mkdir()
    time.sleep(moment)
    proc.kill()
    proc.wait(10)
    assert_no_orphans(began)
    objects = list((tmp_path / "cache" / "objects").rglob("*.arrow")) if (tmp_path / "cache").exists() else []
    leftovers = list((tmp_path / "cache").rglob("*.tmp")) if (tmp_path / "cache").exists() else []
    # every object present is complete (atomic rename); temporary files are never read as objects
    from synthgen.store import Store

    store = Store(tmp_path / "cache")
    assert all(store.verify_object(o.stem) for o in objects)
    assert all(t.name.startswith(".") for t in leftovers)


def test_kill_9_during_the_global_step_then_resume(tmp_path: Path) -> None:
    """Killed once `b` has processed its last batch, as the global `total` stage starts: the rerun
    reuses a and b and gives the uninterrupted dataset."""
    from synthgen.testing.steps import batches_run

    cache, counts = tmp_path / "cache", tmp_path / "counts"
    counts.mkdir()
    began = time.time()
    proc = start(cache, counts)
    deadline = time.monotonic() + 60
    while batches_run(counts, "b") < 6 and time.monotonic() < deadline:  # 300 rows / input_batch_size 50
        time.sleep(0.01)
    proc.kill()
    proc.wait(10)
    assert_no_orphans(began)
    assert batches_run(counts, "total") == 0, "killed before the global step wrote its batch"
    before = {s: batches_run(counts, s) for s in ("a", "b")}
    final = chain(str(cache), count=COUNT, count_dir=str(counts)).run()["default"]["train"].to_list()
    assert final == reference(tmp_path)
    assert batches_run(counts, "a") == before["a"], "a came from the cache"
    assert batches_run(counts, "b") - before["b"] <= 1, "b's batches came from the cache (the last may have been in flight)"
    assert batches_run(counts, "total") == 1
