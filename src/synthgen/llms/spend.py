"""Token spending of one LLM step in one run, summed over its replicas.

``max_tokens_budget`` is a budget for the run, while each replica (a process, or a Ray actor on another
node) has its own request engine. Each replica keeps its own count in a small file of the run folder
(:mod:`synthgen.interrupts`) and reads its siblings' counts at most twice a second, so the run stops
within about half a second's worth of answers, plus the requests already in flight, of the budget.
Outside a run (a direct ``generate()`` call) the count is the engine's own.
"""

from __future__ import annotations

import json
import os
import re
import socket
import time

from synthgen import interrupts
from synthgen.blobs import Blobs

SYNC_INTERVAL = 0.5
REMOTE_SYNC_INTERVAL = 2.0  # in object storage a look is a write, a listing and a read per sibling


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
        folder = interrupts.run_dir()
        interval = REMOTE_SYNC_INTERVAL if folder is not None and folder.remote else SYNC_INTERVAL
        if time.monotonic() - self._synced >= interval:
            self.sync()
        return self.total

    def sync(self) -> None:
        """Publish this replica's count and read the others' (no-op outside a run)."""
        folder = interrupts.run_dir()
        self._synced = time.monotonic()
        if folder is None or self._scope is None:
            return
        mine = f"{self._scope}@{self._replica}.json"  # no "@" in a scope: one step's files only
        try:  # a lost count only lets a run go on; an answer in hand must not be lost to it (disk full)
            folder.write(f"spend/{mine}", json.dumps(self.own).encode(), sync=False)
        except OSError:
            pass
        prefix = f"{self._scope}@"
        self._others = sum(_read_count(folder, f"spend/{name}") for name in folder.names("spend")
                           if name.startswith(prefix) and name.endswith(".json") and name != mine)


def _read_count(folder: Blobs, name: str) -> int:
    try:
        return int(json.loads(folder.read(name)))
    except (OSError, ValueError, TypeError):
        return 0  # being replaced, or from a replica that died mid-write: the next look sees it
