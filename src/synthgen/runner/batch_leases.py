"""Batch leases: runs sharing one cache compute each batch once, whatever the step.

The scheduling loop answers a batch from the cache when an earlier run computed it. Two runs started
together miss the cache at the same moment, so before a batch goes to a replica the loop takes the
lease of its key (``leases/batches/`` in the cache root, :mod:`synthgen.leases`). A batch whose lease
another live run holds is set aside while this run goes on with its other batches; once that lease is
gone the batch is dispatched again: answered from the cache when the other run wrote it, computed here
when the other run failed or died (its lease went stale).

The driver holds the leases, not the replicas: a batch is leased from the moment it is submitted until
its result is reported, on every executor alike.
"""

from __future__ import annotations

import time

from synthgen.leases import Leases, leases_at
from synthgen.runner.messages import BatchTask
from synthgen.store import Store

KIND = "batches"
LOOK_EVERY = 0.25  # seconds between looks at the leases of set-aside batches (local root)
LOOK_EVERY_REMOTE = 1.0  # on object storage each look is a request per batch


class BatchClaims:
    """The batches this run computes (their leases held) and those it waits for.

    Args:
        store: the run's store; its cache root holds the leases.
    """

    def __init__(self, store: Store) -> None:
        self.leases: Leases | None = leases_at(store.location, KIND)
        self.waiting: list[BatchTask] = []
        self.mine: set[str] = set()
        self._every = LOOK_EVERY_REMOTE if store.remote else LOOK_EVERY
        self._next_look = 0.0

    def claim(self, task: BatchTask) -> bool:
        """Whether this run computes ``task`` now: ``False`` sets it aside, as another live run (or this
        one, for a batch with the same key) is computing it; :meth:`due` gives it back later."""
        if self.leases is None:
            return True
        if self.leases.acquire(task.key):
            self.mine.add(task.key)
            return True
        self.waiting.append(task)
        return False

    def done(self, key: str) -> None:
        """The batch of ``key`` is written (or failed): let waiting runs read it (or compute it)."""
        if self.leases is not None and key in self.mine:
            self.mine.discard(key)
            self.leases.release(key)

    def due(self) -> list[BatchTask]:
        """The set-aside batches whose lease is gone: dispatch them again (cache hit, or compute)."""
        if not self.waiting or time.monotonic() < self._next_look or self.leases is None:
            return []
        self._next_look = time.monotonic() + self._every
        free = [task for task in self.waiting if not self.leases.held_elsewhere(task.key)]
        taken = {id(task) for task in free}
        self.waiting = [task for task in self.waiting if id(task) not in taken]
        return free

    def abandon(self) -> list[BatchTask]:
        """The set-aside batches, forgotten (the run is stopping: a rerun finds them in the cache)."""
        waiting, self.waiting = self.waiting, []
        return waiting

    def close(self) -> None:
        """Give back the leases still held (the run ends, whatever way)."""
        self.waiting = []
        for key in list(self.mine):
            self.done(key)
