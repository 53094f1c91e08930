"""Helpers shared by the benchmarks: timing, peak memory of a process tree, a test server in its own process."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import psutil


@contextmanager
def peak_rss() -> Iterator[dict[str, float]]:
    """Sample the resident memory of this process and its children; yields a dict with ``peak_mb``."""
    result = {"peak_mb": 0.0}
    stop = threading.Event()
    me = psutil.Process()

    def sample() -> None:
        while not stop.is_set():
            total = 0
            for proc in [me, *me.children(recursive=True)]:
                try:
                    total += proc.memory_info().rss
                except psutil.Error:
                    continue
            result["peak_mb"] = max(result["peak_mb"], total / 2**20)
            time.sleep(0.05)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield result
    finally:
        stop.set()
        thread.join()


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


class ServerProcess:
    """An OpenAI test server in a process of its own, as a real server is: its CPU (and its share of a
    GIL) is not charged to the synthgen process under test. ``counters`` is a snapshot.

    Args:
        **kwargs: ``OpenAITestServer`` options (``latency``, ``rate_429``, ``retry_after``, ...).
    """

    def __init__(self, **kwargs: Any) -> None:
        self._kwargs = kwargs
        self.base_url = ""

    def __enter__(self) -> ServerProcess:
        import multiprocessing as mp

        ctx = mp.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(target=_serve, args=(child, self._kwargs), daemon=True)
        self._proc.start()
        self.base_url = self._conn.recv()
        return self

    @property
    def counters(self) -> Any:
        self._conn.send("counters")
        return self._conn.recv()

    def __exit__(self, *exc: object) -> None:
        self._conn.send("stop")
        self._proc.join(30)


def _serve(conn: Any, kwargs: dict[str, Any]) -> None:
    from synthgen.testing.servers import OpenAITestServer

    server = OpenAITestServer(**kwargs).start()
    conn.send(server.base_url)
    while conn.recv() == "counters":
        conn.send(server.counters)
    server.stop()
