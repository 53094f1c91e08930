"""Ctrl+C: the first SIGINT stops feeding new batches and lets in-flight ones be written; the
second ends the workers at once."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from loguru import logger


@contextmanager
def graceful_sigint(on_first: Callable[[], None], on_second: Callable[[], None]) -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be installed from the main thread
        return
    count = 0

    def handler(signum: int, frame: Any) -> None:
        nonlocal count
        count += 1
        if count == 1:
            logger.warning("Ctrl+C: finishing in-flight batches, then stopping (press Ctrl+C again to stop now)")
            on_first()
        else:
            logger.warning("Ctrl+C again: ending workers now")
            on_second()
            raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
