"""The local executor: each step replica is a process started with ``spawn``."""

from __future__ import annotations

import multiprocessing as mp
import os
import queue
from contextlib import contextmanager
from typing import Any

from loguru import logger

from synthgen.errors import StepError
from synthgen.runner.tasks import BatchTask
from synthgen.runner.worker import process_main
from synthgen.steps.base import _Step


@contextmanager
def _visible_devices(gpu_ids: list[str] | None) -> Any:
    """Spawned children copy the parent's environment at start: set CUDA_VISIBLE_DEVICES around it."""
    if gpu_ids is None:
        yield
        return
    old = os.environ.get("CUDA_VISIBLE_DEVICES")
    os.environ["CUDA_VISIBLE_DEVICES"] = ",".join(str(g) for g in gpu_ids)
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("CUDA_VISIBLE_DEVICES", None)
        else:
            os.environ["CUDA_VISIBLE_DEVICES"] = old


class LocalExecutor:
    """Runs step replicas as spawned processes; tasks and results travel through queues."""

    name = "local"

    def __init__(self, store_root: str, log_level: str) -> None:
        self._ctx = mp.get_context("spawn")
        self._results: Any = self._ctx.Queue()
        self._tasks: dict[str, Any] = {}
        self._procs: dict[str, list[Any]] = {}
        self._store_root = store_root
        self._log_level = log_level

    def start(self, step: _Step, gpu_ids: list[list[str]] | None) -> None:
        name = str(step.name)
        self._tasks[name] = self._ctx.Queue()
        self._procs[name] = []
        for replica in range(step.resources.replicas):
            proc = self._ctx.Process(
                target=process_main, name=f"synthgen:{name}:{replica}", daemon=True,
                args=(step, self._store_root, replica, self._tasks[name], self._results, self._log_level,
                      os.getpid()),
            )
            with _visible_devices(gpu_ids[replica] if gpu_ids else None):
                proc.start()
            self._procs[name].append(proc)

    def submit(self, task: BatchTask) -> None:
        self._tasks[task.step].put(task)

    def poll(self, timeout: float) -> list[Any]:
        out = []
        try:
            out.append(self._results.get(timeout=timeout))
            while True:
                out.append(self._results.get_nowait())
        except queue.Empty:
            return out

    def stop(self, step_name: str) -> None:
        """Ask every replica of a step to unload and end (used at the end of a load stage)."""
        for _ in self._procs.get(step_name, []):
            self._tasks[step_name].put(None)

    def join(self, step_name: str, timeout: float = 60.0) -> None:
        for proc in self._procs.pop(step_name, []):
            proc.join(timeout)
            if proc.is_alive():
                logger.warning(f"replica {proc.name} did not end after unload; terminating it")
                proc.kill()
                proc.join()

    def check_alive(self) -> None:
        """A replica that died without reporting (OOM, kill -9) stops the run."""
        for name, procs in self._procs.items():
            for proc in procs:
                if not proc.is_alive() and proc.exitcode not in (0, None):
                    raise StepError(name, f"replica {proc.name} died with exit code {proc.exitcode}; "
                                          f"rerun the pipeline to resume from the cache")

    def running(self, step_name: str) -> bool:
        return step_name in self._procs

    def shutdown(self, force: bool = False) -> None:
        """End every replica; with ``force`` at once, else after their current batch."""
        for name in list(self._procs):
            if not force:
                self.stop(name)
        for procs in list(self._procs.values()):
            for proc in procs:
                if force:
                    proc.kill()
                proc.join(2 if force else 30)
                if proc.is_alive():
                    proc.kill()
                    proc.join()
        self._procs.clear()
