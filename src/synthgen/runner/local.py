"""The local executor: each step replica is a child process started from synthgen's own entry point.

Why not ``multiprocessing``: a spawned child re-imports the user's script (an unguarded script runs
the pipeline again in every worker; a notebook cell's step cannot be imported at all) and re-applies
the parent's global start method (inside a joblib/loky worker: ``cannot find context for 'loky'``),
and its queues are named semaphores that a killed run leaves behind, watched by a resource-tracker
process. A plain ``python -m synthgen.runner.worker_main`` child with two pipes has none of that: the
step travels by value (cloudpickle, process to process only — nothing of it reaches the cache), and
the executor hands each task to a replica with a free thread, as the Ray executor does.
"""

from __future__ import annotations

import pickle
import subprocess
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from multiprocessing.connection import wait
from typing import Any

from loguru import logger

from synthgen.errors import StepError
from synthgen.runner.messages import BatchTask
from synthgen.runner.worker_main import FREE
from synthgen.runner.worker_process import WorkerProcess
from synthgen.steps.base import BaseStep


@dataclass
class _StepWorkers:
    """The replicas of one step and the tasks none of them has taken yet."""

    workers: list[WorkerProcess]
    waiting: deque[BatchTask] = field(default_factory=deque)


class LocalExecutor:
    """Runs step replicas as child processes of this one; tasks and results travel through pipes."""

    name = "local"

    def __init__(self, store_root: str, log_level: str) -> None:
        self._steps: dict[str, _StepWorkers] = {}
        self._store_root = store_root
        self._log_level = log_level
        self._received: list[Any] = []  # results read while waiting for a replica to exit
        self._spawned: dict[str, list[WorkerProcess]] = {}  # processes started ahead of their step

    def prespawn(self, step_name: str, replicas: int, gpu_ids: list[list[str]] | None) -> None:
        """Start the processes of a step's replicas before the step can be sent to them: they import
        synthgen, pydantic and pyarrow (a third of a second each) while the driver prepares the run
        (stores inline rows, writes pipeline.yaml) on one core. :meth:`start` hands them the step."""
        self._spawned[step_name] = [WorkerProcess(f"synthgen:{step_name}:{replica}", None,
                                                  gpu_ids[replica] if gpu_ids else None)
                                    for replica in range(replicas)]

    def start(self, step: BaseStep, gpu_ids: list[list[str]] | None) -> None:
        """Start the step's replicas; each loads the step as soon as it arrives.

        Raises:
            StepError: the step cannot be sent to a process (a live client, lock or open file in a field).
        """
        name = str(step.name)
        init = {"step": dump_step(step), "step_name": name, "store_root": self._store_root,
                "log_level": self._log_level, "sys_path": list(sys.path), "argv": list(sys.argv)}
        if name not in self._spawned:
            self.prespawn(name, step.resources.replicas, gpu_ids)
        workers = self._spawned.pop(name)
        for replica, worker in enumerate(workers):
            worker.send(pickle.dumps({**init, "replica": replica}))
        self._steps[name] = _StepWorkers(workers)

    def submit(self, task: BatchTask) -> None:
        self._steps[task.step].waiting.append(task)
        self._feed(self._steps[task.step])

    def poll(self, timeout: float) -> list[Any]:
        """Results of the replicas, waiting up to ``timeout`` for the first."""
        out, self._received = self._received, []
        live = {w.results: w for ws in self._steps.values() for w in ws.workers if not w.eof}
        if not live:
            time.sleep(0 if out else timeout)
            return out
        for conn in wait(list(live), 0 if out else timeout):
            out.extend(self._receive(live[conn]))  # type: ignore[index]
        for ws in self._steps.values():
            self._feed(ws)
        return out

    def stop(self, step_name: str) -> None:
        """Ask every replica of a step to unload and end (used at the end of a load stage)."""
        ws = self._steps.get(step_name)
        if ws is None:
            return
        ws.waiting.clear()
        for worker in ws.workers:
            worker.send(pickle.dumps(None))
            worker.close_input()

    def join(self, step_name: str, timeout: float = 60.0) -> None:
        for worker in self._steps.pop(step_name, _StepWorkers([])).workers:
            self._end(worker, timeout)

    def check_alive(self) -> None:
        """A replica that died without reporting (OOM, kill -9) stops the run."""
        for name, ws in self._steps.items():
            for worker in ws.workers:
                code = worker.exitcode()
                if code not in (0, None):
                    raise StepError(name, f"replica {worker.label} died with exit code {code}; "
                                          f"rerun the pipeline to resume from the cache")

    def running(self, step_name: str) -> bool:
        return step_name in self._steps

    def shutdown(self, force: bool = False) -> None:
        """End every replica; with ``force`` at once, else after their current batch."""
        for worker in [w for spawned in self._spawned.values() for w in spawned]:
            worker.close_input()  # never given a step: it reads the end of its input and exits
            if force:
                worker.kill()
            self._end(worker, 2 if force else 30)
        self._spawned.clear()
        for name in list(self._steps):
            if not force:
                self.stop(name)
        for ws in list(self._steps.values()):
            for worker in ws.workers:
                if force:
                    worker.kill()
                self._end(worker, 2 if force else 30)
        self._steps.clear()

    def _feed(self, ws: _StepWorkers) -> None:
        """Hand waiting tasks to replicas with a free thread."""
        for worker in ws.workers:
            while worker.free and ws.waiting:
                worker.free -= 1
                worker.send(pickle.dumps(ws.waiting.popleft(), protocol=pickle.HIGHEST_PROTOCOL))

    def _receive(self, worker: WorkerProcess, timeout: float = 0.0) -> list[Any]:
        out = []
        for data in worker.receive(timeout):
            if data == FREE:
                worker.free += 1
            else:
                out.append(pickle.loads(data))
        return out

    def _end(self, worker: WorkerProcess, timeout: float) -> None:
        """Wait for a replica to exit, keeping what it still sends; kill it past ``timeout``."""
        deadline = time.monotonic() + timeout
        while worker.exitcode() is None and not worker.eof and time.monotonic() < deadline:
            self._received.extend(self._receive(worker, 0.1))
        try:
            worker.proc.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            logger.warning(f"replica {worker.label} did not end after unload; terminating it")
            worker.kill()
            worker.proc.wait()
        self._received.extend(self._receive(worker))
        worker.close()


def dump_step(step: BaseStep) -> bytes:
    """The step by value, with the functions and classes it uses from ``__main__`` or a notebook.

    Raises:
        StepError: something in the step, or in another step of its pipeline (a step travels with its
            pipeline), cannot be pickled.
    """
    import cloudpickle

    try:
        return cloudpickle.dumps(step, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as exc:
        culprit, error = _first_unpicklable(step, exc)
        raise StepError(culprit, f"it cannot be sent to its worker process ({type(error).__name__}: {error}); "
                                 "create live objects (clients, locks, open files) in load(), "
                                 "not in its fields, its attributes or the globals its code uses") from error


def _first_unpicklable(step: BaseStep, error: Exception) -> tuple[str, Exception]:
    """The step of ``step``'s pipeline that cannot be pickled on its own (its pipeline left out), and why."""
    import io

    import cloudpickle

    pipeline = step.pipeline
    for candidate in pipeline.steps.values() if pipeline is not None else ():
        pickler = cloudpickle.Pickler(io.BytesIO())
        pickler.persistent_id = lambda obj: "pipeline" if obj is pipeline else None  # type: ignore[method-assign]
        try:
            pickler.dump(candidate)
        except Exception as exc:
            return str(candidate.name), exc
    return str(step.name), error
