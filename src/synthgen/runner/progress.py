"""Per-step progress: a live rich display on a terminal, plain periodic log lines otherwise."""

from __future__ import annotations

import sys
import time
from typing import Any

from loguru import logger


class Progress:
    """Counts rows per step and reports rows done and rows per second."""

    def __init__(self, steps: list[str], interval: float = 5.0, live: bool | None = None) -> None:
        self.rows = dict.fromkeys(steps, 0)
        self.started = time.monotonic()
        self.interval = interval
        self._last = self.started
        self._live: Any = None
        self._tasks: dict[str, Any] = {}
        if live if live is not None else sys.stderr.isatty():
            self._start_live(steps)

    def _start_live(self, steps: list[str]) -> None:
        from rich.progress import Progress as RichProgress
        from rich.progress import SpinnerColumn, TextColumn, TimeElapsedColumn

        self._live = RichProgress(SpinnerColumn(), TextColumn("{task.description}"),
                                  TextColumn("{task.completed:,} rows"), TextColumn("{task.fields[rate]}"),
                                  TimeElapsedColumn(), transient=False)
        for step in steps:
            self._tasks[step] = self._live.add_task(step, total=None, rate="")
        self._live.start()

    def advance(self, step: str, rows: int) -> None:
        self.rows[step] += rows
        if self._live is not None:
            rate = self.rows[step] / max(time.monotonic() - self.started, 1e-9)
            self._live.update(self._tasks[step], completed=self.rows[step], rate=f"{rate:,.0f} rows/s")

    def finish(self, step: str) -> None:
        if self._live is not None:
            self._live.update(self._tasks[step], description=f"[green]✓ {step}")

    def tick(self) -> None:
        now = time.monotonic()
        if self._live is not None or now - self._last < self.interval:
            return
        self._last = now
        elapsed = now - self.started
        parts = [f"{s}: {r:,} rows ({r / elapsed:,.0f}/s)" for s, r in self.rows.items()]
        logger.info("progress | " + " | ".join(parts))

    def close(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None
