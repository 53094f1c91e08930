"""One local step replica seen from the driver: a child process started from synthgen's own entry point
(:mod:`synthgen.runner.worker_main`), and the two pipes the driver talks to it through."""

from __future__ import annotations

import os
import queue
import site
import subprocess
import sys
import threading
from multiprocessing.connection import Connection, Pipe, wait
from pathlib import Path

ENTRY = "synthgen.runner.worker_main"
DIRECT_MAX = 16_384  # bytes: at most a quarter of a pipe's buffer (64 KiB on Linux), written without a thread


class WorkerProcess:
    """A replica's process, its task pipe (written by a thread, so a large step never blocks the
    scheduling loop while the child starts) and its result pipe (read by the loop).

    ``free`` counts the tasks the replica can take now: one ready in advance, plus one each time a
    serving thread says it is free.
    """

    def __init__(self, label: str, init: bytes | None, gpu_ids: list[str] | None = None) -> None:
        tasks_in, tasks_out = Pipe(duplex=False)
        results_in, results_out = Pipe(duplex=False)
        child_fds = (tasks_in.fileno(), results_out.fileno())
        # A session of its own: a Ctrl+C in the terminal reaches the driver only, which decides how the
        # run ends (the worker ignores SIGINT too, but only once its interpreter is up).
        self.proc = subprocess.Popen(
            [sys.executable, "-m", ENTRY, *map(str, child_fds), str(os.getpid()), label],
            pass_fds=child_fds, stdin=subprocess.DEVNULL, env=child_env(gpu_ids), start_new_session=True)
        tasks_in.close()
        results_out.close()
        self.label = label
        self.results: Connection = results_in
        self.eof = False
        self.free = 1
        self._outbox: queue.Queue[bytes | None] = queue.Queue()
        self._tasks_out = tasks_out
        self._queued = 0  # messages handed to the writing thread and not yet written
        self._closing = False
        self._lock = threading.Lock()
        threading.Thread(target=self._write, args=(tasks_out,), name=f"{label}-tasks", daemon=True).start()
        if init is not None:  # None: started ahead of its step, which a later send() brings
            self.send(init)

    def send(self, data: bytes) -> None:
        """Send one message to the replica (in order). A small one is written here when nothing waits
        before it: a task is a few hundred bytes and the replica takes one only when a thread of it is
        free, so the pipe never fills, and the loop saves a hand-off to the writing thread (two GIL
        switches per batch). A large one (the step itself) goes through the writing thread."""
        with self._lock:
            if self._queued == 0 and not self._closing and len(data) <= DIRECT_MAX:
                try:
                    self._tasks_out.send_bytes(data)
                except OSError:  # the replica is gone: the executor's check_alive reports it
                    pass
                return
            self._queued += 1
        self._outbox.put(data)

    def close_input(self) -> None:
        """No more messages: the replica reads end-of-file after the queued ones."""
        with self._lock:
            if self._closing:
                return
            self._closing = True
        self._outbox.put(None)

    def receive(self, timeout: float = 0.0) -> list[bytes]:
        """Every message the replica has sent, waiting up to ``timeout`` for the first."""
        out: list[bytes] = []
        while not self.eof and wait([self.results], timeout if not out else 0):
            try:
                out.append(self.results.recv_bytes())
            except (EOFError, OSError):
                self.eof = True
        return out

    def exitcode(self) -> int | None:
        return self.proc.poll()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()

    def close(self) -> None:
        """Release the pipes (the process has ended)."""
        self.close_input()
        self.results.close()

    def _write(self, conn: Connection) -> None:
        try:
            while (data := self._outbox.get()) is not None:
                conn.send_bytes(data)
                with self._lock:
                    self._queued -= 1
        except OSError:  # the replica is gone: the executor's check_alive reports it
            pass
        finally:
            conn.close()


def child_env(gpu_ids: list[str] | None) -> dict[str, str]:
    """The driver's environment, with the replica's GPUs and the folder this synthgen was imported from
    (so the child runs the same synthgen, even one put on ``sys.path`` by hand)."""
    env = dict(os.environ)
    if gpu_ids is not None:
        env["CUDA_VISIBLE_DEVICES"] = ",".join(str(g) for g in gpu_ids)
    root = str(Path(__file__).resolve().parents[2])  # the folder holding the synthgen package
    if root not in _site_dirs():  # a site folder is on the child's path already, after the stdlib
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    return env


def _site_dirs() -> set[str]:
    dirs = [*site.getsitepackages(), site.getusersitepackages()]
    return {str(Path(d).resolve()) for d in dirs}
