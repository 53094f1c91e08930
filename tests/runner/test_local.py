"""The local executor: replicas start the same whatever the driver's own parent is (a joblib/loky worker,
a forked or forkserver process, a submitit job, a daemonic multiprocessing.Pool worker), and a run leaves
nothing behind — no process (no resource tracker either), no semaphore — after success, failure or Ctrl+C."""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import re
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psutil
import pytest
from pydantic import PrivateAttr

from synthgen import Pipeline, StepResources
from synthgen.errors import PipelineInterrupted, StepError
from synthgen.steps.base import Step, StepInput, StepOutput
from synthgen.testing.steps import AddColumn, DieOnce, FailOn, GenerateNumbers, batches_run

from .pipelines import chain, wait_for_stop_request

EXPECTED = [2 * n for n in range(40)]


def two_replica_pipeline(cache_dir: str) -> Pipeline:
    with Pipeline(name="parents", cache_dir=cache_dir) as p:
        GenerateNumbers(count=40, batch_size=10) >> AddColumn(factor=2, input_batch_size=5,
                                                              resources=StepResources(replicas=2))
    return p


def outputs(cache_dir: str) -> list[int]:
    """The pipeline's output column, run in whatever process calls this."""
    return [r["out"] for r in two_replica_pipeline(cache_dir).run()["default"]["train"]]


def write_outputs(cache_dir: str, path: str) -> None:
    Path(path).write_text(json.dumps(outputs(cache_dir)))


# ---- whatever the parent --------------------------------------------------------------------------
def test_pipeline_runs_inside_a_joblib_loky_worker(tmp_path: Path) -> None:
    from joblib import Parallel, delayed
    from joblib.externals.loky import get_reusable_executor

    try:
        results = Parallel(n_jobs=2, backend="loky")(delayed(outputs)(str(tmp_path / f"cache{i}")) for i in range(2))
    finally:
        get_reusable_executor().shutdown(wait=True)
    assert results == [EXPECTED, EXPECTED]


@pytest.mark.parametrize("method", ["fork", "forkserver"])
def test_pipeline_runs_inside_a_forked_or_forkserver_process(tmp_path: Path, method: str) -> None:
    out = tmp_path / "out.json"
    proc = mp.get_context(method).Process(target=write_outputs, args=(str(tmp_path / "cache"), str(out)))
    proc.start()
    proc.join(180)
    assert proc.exitcode == 0
    assert json.loads(out.read_text()) == EXPECTED


def test_pipeline_runs_inside_a_submitit_job(tmp_path: Path) -> None:
    """A submitit job (local here, as on Slurm) runs the driver as ``python -m submitit.core._submit``."""
    import submitit

    executor = submitit.LocalExecutor(folder=str(tmp_path / "jobs"))
    executor.update_parameters(timeout_min=5)
    job = executor.submit(outputs, str(tmp_path / "cache"))
    assert job.result() == EXPECTED


def test_pipeline_runs_inside_a_daemonic_pool_worker(tmp_path: Path) -> None:
    """multiprocessing forbids daemonic processes to have children; replicas are not its children."""
    with mp.get_context("spawn").Pool(1) as pool:
        assert pool.apply(outputs, (str(tmp_path / "cache"),)) == EXPECTED


# ---- nothing left behind --------------------------------------------------------------------------
LINUX = pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="reads /proc/<pid>/maps (Linux only)")


def live_children() -> set[int]:
    pids = set()
    for child in psutil.Process().children(recursive=True):
        try:
            if child.status() != psutil.STATUS_ZOMBIE:
                pids.add(child.pid)
        except psutil.NoSuchProcess:
            continue
    return pids


def mapped_semaphores(pids: set[int]) -> set[str]:
    """Named semaphores (``/dev/shm/sem.*``) that these processes have open."""
    found: set[str] = set()
    for pid in pids:
        try:
            found.update(re.findall(r"/dev/shm/(sem\.\S+)", Path(f"/proc/{pid}/maps").read_text()))
        except OSError:  # gone meanwhile
            continue
    return found


@contextmanager
def nothing_left_behind() -> Iterator[set[str]]:
    """No process started inside the block is there after it, and no semaphore that this process or
    its children opened meanwhile is left in /dev/shm (other programs' semaphores are not counted).
    Yields the set it fills with the semaphores opened in the block."""
    children, seen, done = live_children(), set(), threading.Event()
    before = mapped_semaphores({os.getpid(), *children})  # an earlier test's, not this block's

    def watch() -> None:
        while not done.wait(0.05):
            seen.update(mapped_semaphores({os.getpid(), *live_children()}))

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    opened: set[str] = set()
    try:
        yield opened
    finally:
        done.set()
        watcher.join()
    opened.update(seen - before)
    assert live_children() - children == set(), "a process of the run outlived it"
    left = {s for s in opened if Path("/dev/shm", s).exists()}
    assert left == set(), "the run left a semaphore in /dev/shm"


@LINUX
def test_a_successful_run_leaves_nothing_behind(tmp_path: Path) -> None:
    with nothing_left_behind() as opened:
        assert outputs(str(tmp_path)) == EXPECTED
    assert opened == set(), "replicas talk over plain pipes: the run opens no semaphore at all"


@LINUX
def test_a_failed_run_leaves_nothing_behind(tmp_path: Path) -> None:
    with Pipeline(name="fails", cache_dir=tmp_path) as p:
        GenerateNumbers(count=100, batch_size=10) >> FailOn(value=42, resources=StepResources(replicas=2))
    with nothing_left_behind(), pytest.raises(StepError, match="boom at n=42"):
        p.run()


@LINUX
def test_a_replica_killed_mid_run_leaves_nothing_behind(tmp_path: Path) -> None:
    with Pipeline(name="dies", cache_dir=tmp_path) as p:
        GenerateNumbers(count=100, batch_size=10) >> DieOnce(value=42, marker=str(tmp_path / "died"),
                                                             resources=StepResources(replicas=2))
    with nothing_left_behind(), pytest.raises(StepError, match="died with exit code 1"):
        p.run()


def press_ctrl_c_once_running(cache: Path, counts: Path, presses: int) -> None:
    deadline = time.monotonic() + 60
    while batches_run(counts, "a") < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(os.getpid(), signal.SIGINT)
    if presses == 2:
        wait_for_stop_request(cache)  # the second press reaches a run that has seen the first
        os.kill(os.getpid(), signal.SIGINT)


@LINUX
@pytest.mark.parametrize("presses, ends_with", [(1, PipelineInterrupted), (2, KeyboardInterrupt)])
def test_ctrl_c_leaves_nothing_behind(tmp_path: Path, presses: int, ends_with: type[BaseException]) -> None:
    counts = tmp_path / "counts"
    counts.mkdir()
    p = chain(str(tmp_path / "cache"), count=200, delay=0.2, count_dir=str(counts), replicas=2)
    threading.Thread(target=press_ctrl_c_once_running, args=(tmp_path / "cache", counts, presses), daemon=True).start()
    with nothing_left_behind(), pytest.raises(ends_with):
        p.run()


# ---- a step that cannot travel --------------------------------------------------------------------
class HoldsALock(Step):
    """Keeps a live object (here a lock) in an attribute instead of creating it in ``load()``."""

    _handle: Any = PrivateAttr(default_factory=threading.Lock)

    @property
    def inputs(self) -> list[str]:
        return ["n"]

    def process(self, *inputs: StepInput) -> StepOutput:
        yield inputs[0]


def test_a_step_that_cannot_be_sent_to_its_worker_is_one_clear_error(tmp_path: Path) -> None:
    with Pipeline(name="lock", cache_dir=tmp_path) as p:
        GenerateNumbers(count=10, batch_size=10) >> HoldsALock(name="locked")
    with nothing_left_behind(), pytest.raises(StepError, match=r"step 'locked' failed: it cannot be sent to its worker process "
                                        r"\(TypeError: cannot pickle '_thread.lock' object\); create live objects"):
        p.run()


# ---- replicas started ahead of their step ------------------------------------------------------
@LINUX
def test_the_first_stages_replicas_start_while_the_run_is_prepared(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Each replica process starts once, before the driver stores inline rows and writes pipeline.yaml
    (its imports then use the core the driver leaves idle), and serves its step when it comes."""
    from synthgen.runner import run, worker_process

    started: list[str] = []
    real_init, real_prepare = worker_process.WorkerProcess.__init__, run._prepare

    def init(self: Any, label: str, *args: Any, **kwargs: Any) -> None:
        started.append(label)
        real_init(self, label, *args, **kwargs)

    def prepare(*args: Any) -> None:
        started.append("prepared")
        real_prepare(*args)

    monkeypatch.setattr(worker_process.WorkerProcess, "__init__", init)
    monkeypatch.setattr(run, "_prepare", prepare)
    with nothing_left_behind():
        assert outputs(str(tmp_path)) == EXPECTED
    assert started == ["synthgen:generate_numbers_0:0", "synthgen:add_column_0:0", "synthgen:add_column_0:1",
                       "prepared"]


@LINUX
@pytest.mark.parametrize("error", [RuntimeError("disk gone"), KeyboardInterrupt()])
def test_replicas_started_ahead_end_when_the_run_fails_before_its_steps_start(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, error: BaseException) -> None:
    from synthgen.runner import run

    def prepare(*args: Any) -> None:
        time.sleep(0.5)  # the replicas are up, waiting for their step
        raise error

    monkeypatch.setattr(run, "_prepare", prepare)
    with nothing_left_behind(), pytest.raises(type(error)):
        outputs(str(tmp_path))
