"""Entry point of a local step replica: ``python -m synthgen.runner.worker_main TASKS_FD RESULTS_FD PARENT``.

A replica starts from synthgen's own module, never from the user's script: the step arrives by value
over a pipe (cloudpickle, so a ``@step`` defined in ``__main__``, ``python -c`` or a notebook cell
travels with the functions and classes it uses), and nothing of the parent interpreter is re-applied —
not its ``__main__``, not its multiprocessing start method (a driver inside a joblib/loky worker, a
forked process or a submitit job starts replicas like any other). No multiprocessing primitive is
created, so there is no semaphore and no resource tracker to leave behind.

The pipes carry length-prefixed messages (:class:`multiprocessing.connection.Connection`):
parent to replica, the init message then pickled :class:`~synthgen.runner.messages.BatchTask` s and
``None`` to stop; replica to parent, pickled results and an empty message each time a serving thread
is free (the parent sends a task only to a free thread).
"""

from __future__ import annotations

import os
import pickle
import signal
import sys
import threading
import time
from collections import deque
from multiprocessing.connection import Connection
from typing import Any

FREE = b""  # replica to parent: one serving thread waits for a task


class ResultOutbox:
    """What a replica sends its parent; several serving threads share it."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._lock = threading.Lock()

    def put(self, message: Any) -> None:
        """Send one result (a BatchDone, BatchFailed or ReplicaEvent); by value, as the step came, so an
        error whose class the user's script defined reaches the driver as that class."""
        import cloudpickle

        self._send(cloudpickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL))

    def announce_free(self) -> None:
        """Tell the parent one more thread can take a task."""
        self._send(FREE)

    def _send(self, data: bytes) -> None:
        with self._lock:  # a message is several writes: threads must not interleave them
            self._conn.send_bytes(data)


class TaskInbox:
    """The tasks of one replica, read from the parent by the serving thread that asks; ``get`` and
    ``put`` as a queue's, so :func:`~synthgen.runner.worker.process_main` serves from it as from any
    queue. No reader thread: one would wake and take the GIL for every task, in the middle of the
    batch being computed."""

    def __init__(self, conn: Connection, outbox: ResultOutbox) -> None:
        self._conn = conn
        self._outbox = outbox
        self._reading = threading.Lock()  # several serving threads: one reads the pipe at a time
        self._given_back: deque[Any] = deque()

    def get(self) -> Any:
        """The next task (``None``: stop), once the parent knows this thread is free."""
        self._outbox.announce_free()
        with self._reading:
            if self._given_back:
                return self._given_back.popleft()
            try:
                return pickle.loads(self._conn.recv_bytes())
            except (EOFError, OSError):  # the parent closed its end or is gone: stop as if asked to
                return None

    def put(self, item: Any) -> None:
        self._given_back.append(item)


def die_with_parent(parent: int) -> None:
    """A worker never outlives the run: the kernel kills it with its parent (Linux), and a watchdog
    thread covers the other platforms.

    ``parent`` is the pid the main process gave, not ``os.getppid()`` read here: a parent killed while
    this worker was still starting has already handed it to init, and must still end it.
    """
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:
        pass
    if os.getppid() != parent:  # the parent died before the death signal was armed
        os._exit(1)

    def watch() -> None:
        while True:
            if os.getppid() != parent:
                os._exit(1)
            time.sleep(0.5)

    threading.Thread(target=watch, name="synthgen-parent-watch", daemon=True).start()


def main(argv: list[str]) -> None:
    """Serve one replica: ``argv`` is ``[TASKS_FD, RESULTS_FD, PARENT_PID, ...]`` (the rest names the
    replica for ``ps``)."""
    tasks_fd, results_fd, parent = (int(a) for a in argv[:3])
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the main process decides how Ctrl+C ends a run
    die_with_parent(parent)
    tasks, outbox = Connection(tasks_fd, writable=False), ResultOutbox(Connection(results_fd, readable=False))
    try:
        init = pickle.loads(tasks.recv_bytes())
    except (EOFError, OSError):  # started ahead of its step, and the run ended first: nothing to serve
        return
    if init is None:
        return
    sys.path[:] = init["sys_path"]  # the parent's: whatever it imported by reference imports here too
    sys.argv[:] = init["argv"]
    step = _load_step(init, outbox)
    if step is None:
        return
    from synthgen.runner.worker import process_main

    process_main(step, init["store_root"], init["replica"], TaskInbox(tasks, outbox), outbox, init["log_level"])


def _load_step(init: dict[str, Any], outbox: ResultOutbox) -> Any:
    """The step sent by value, or None after reporting why it could not be rebuilt here."""
    from synthgen.errors import StepError
    from synthgen.runner.messages import BatchTask
    from synthgen.runner.worker import failed

    try:
        return pickle.loads(init["step"])  # cloudpickle's output needs only pickle (and cloudpickle) to load
    except Exception as exc:
        error = StepError(init["step_name"], f"its worker process could not rebuild the step ({type(exc).__name__}: "
                                             f"{exc}); the modules it uses must be importable from the driver's "
                                             "sys.path, or defined in the script or notebook itself")
        outbox.put(failed(BatchTask(init["step_name"], -1, ""), error))
        return None


if __name__ == "__main__":
    main(sys.argv[1:])
