"""Token spending of one LLM step in one run, summed over its replicas.

``max_tokens_budget`` is a budget for the run, while each replica (a process, or a Ray actor on another
node) has its own request engine. Each replica keeps its own count in a small file of the run folder
(:mod:`synthgen.interrupts`) and reads its siblings' counts at most twice a second, so the run stops
within about half a second's worth of answers, plus the requests already in flight, of the budget.
Outside a run (a direct ``generate()`` call) the count is the engine's own.
"""

from __future__ import annotations

import glob
import json
import os
import re
import socket
import time
from pathlib import Path

from synthgen import interrupts
from synthgen.store import write_atomic

SYNC_INTERVAL = 0.5


class Spend:
    """Tokens (input+output) used by one engine and, within a run, by the other replicas of its step.

    Args:
        scope: what the replicas share a budget by (the step's name); ``None`` counts this engine only.
    """

    def __init__(self, scope: str | None = None) -> None:
        self.own = 0
        self._scope = re.sub(r"[^A-Za-z0-9_.-]", "_", scope) if scope else None
        self._replica = f"{socket.gethostname()}-{os.getpid()}-{id(self):x}"
        self._others = 0
        self._synced = 0.0

    @property
    def total(self) -> int:
        """This run's tokens over every replica, as of the last look at the others."""
        return self.own + self._others

    def add(self, tokens: int) -> int:
        """Count an answer's tokens; the new total."""
        self.own += tokens
        if time.monotonic() - self._synced >= SYNC_INTERVAL:
            self.sync()
        return self.total

    def sync(self) -> None:
        """Publish this replica's count and read the others' (no-op outside a run)."""
        folder = interrupts.run_dir()
        self._synced = time.monotonic()
        if folder is None or self._scope is None:
            return
        spend_dir = folder / "spend"
        mine = spend_dir / f"{self._scope}.{self._replica}.json"
        write_atomic(mine, json.dumps(self.own).encode(), sync=False)  # a lost count only lets a run go on
        others = 0
        for path in spend_dir.glob(f"{glob.escape(self._scope)}.*.json"):
            if path != mine:
                others += _read_count(path)
        self._others = others


def _read_count(path: Path) -> int:
    try:
        return int(json.loads(path.read_bytes()))
    except (OSError, ValueError, TypeError):
        return 0  # being replaced, or from a replica that died mid-write: the next look sees it
