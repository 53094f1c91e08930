"""Per-step progress: a live rich display on a terminal, plain periodic log lines otherwise."""

from __future__ import annotations

import sys
import time
from typing import Any

from loguru import logger


class Progress:
    """Per step: input rows processed of rows received, and rows per second (a source: rows read).

    A step's total is what its upstream steps have handed it so far: it grows while they run and is
    exact once they finish. A source has no total until it ends.
    """

    def __init__(self, steps: list[str], interval: float = 5.0, live: bool | None = None) -> None:
        self.rows = dict.fromkeys(steps, 0)
        self.totals: dict[str, int] = {}
        self.started = time.monotonic()
        self.interval = interval
        self._last = self.started
        self._live: Any = None
        self._tasks: dict[str, Any] = {}
        if live if live is not None else sys.stderr.isatty():
            self._start_live(steps)

    def _start_live(self, steps: list[str]) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, SpinnerColumn, TextColumn, TimeElapsedColumn
        from rich.progress import Progress as RichProgress

        self._live = RichProgress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                                  MofNCompleteColumn(), TextColumn("rows {task.fields[rate]}"),
                                  TimeElapsedColumn(), transient=False)
        for step in steps:
            self._tasks[step] = self._live.add_task(step, total=None, rate="")
        self._live.start()

    def receive(self, step: str, rows: int) -> None:
        """``rows`` more input rows reached ``step`` (from one predecessor)."""
        self.totals[step] = self.totals.get(step, 0) + rows
        if self._live is not None:
            self._live.update(self._tasks[step], total=self.totals[step])

    def advance(self, step: str, rows: int) -> None:
        """``rows`` more input rows of ``step`` are processed (rows read, for a source)."""
        self.rows[step] += rows
        if self._live is not None:
            rate = self.rows[step] / max(time.monotonic() - self.started, 1e-9)
            self._live.update(self._tasks[step], completed=self.rows[step], rate=f"{rate:,.0f} rows/s")

    def finish(self, step: str) -> None:
        self.totals.setdefault(step, self.rows[step])
        if self._live is not None:
            self._live.update(self._tasks[step], description=f"[green]✓ {step}", total=self.totals[step])

    def line(self, step: str, elapsed: float) -> str:
        """``gen: 1,200/5,000 rows (240/s)``: done of received (or just done for a running source)."""
        done, total = self.rows[step], self.totals.get(step)
        return f"{step}: {done:,}{f'/{total:,}' if total is not None else ''} rows ({done / elapsed:,.0f}/s)"

    def tick(self) -> None:
        now = time.monotonic()
        if self._live is not None or now - self._last < self.interval:
            return
        self._last = now
        elapsed = now - self.started
        logger.info("progress | " + " | ".join(self.line(s, elapsed) for s in self.rows))

    def close(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None
