"""Request leases: two runs on one cache pay for a request once, even when they ask at the same moment.

The request cache answers a request that an earlier run paid for; a lease covers the moment before the
answer exists. Before sending, an engine creates ``leases/requests/<key>.lease`` exclusively (an
``O_EXCL`` create: exactly one process wins). A run that finds the lease held by another live run does
not send: it waits for the answer to land in the cache and reads it. The holder deletes the lease when
the answer is written, or when the request failed (the waiter then sends it itself).

A lease names its holder (host, pid) and is refreshed every :data:`HEARTBEAT` seconds while held, so a
killed run never blocks the next: a lease is stale when its holder is a dead process on this host, or
when it was not refreshed for :data:`STALE_AFTER` seconds (a holder on another host). A stale lease is
taken over.

Leases live in the shared cache root, so they work across processes, sweep jobs and the nodes of a
cluster sharing one POSIX file system. An object-storage cache root has no exclusive create: there,
concurrent runs fall back to the request cache alone (a request in flight in two runs at once may be
paid twice; documented in docs/caching.md).
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from pathlib import Path

import psutil

from synthgen.store import Store

HEARTBEAT = 10.0
STALE_AFTER = 60.0
TAKEOVER_STALE_AFTER = 5.0  # a takeover lasts microseconds; a guard this old was left by a dead taker
_HOST = socket.gethostname()


class RequestLeases:
    """The leases of one process on one cache root (thread-safe).

    Args:
        root: the local cache root (``<root>/leases/requests``).
    """

    def __init__(self, root: Path) -> None:
        self.folder = root / "leases" / "requests"
        self._prefix = f"{self.folder}/"  # paths as strings: this runs twice per LLM request
        self._held: set[str] = set()
        self._lock = threading.Lock()
        self._beating = False
        self._me = json.dumps({"host": _HOST, "pid": os.getpid()}).encode()

    def _path(self, key: str) -> str:
        return f"{self._prefix}{key[:2]}/{key}.lease"

    def acquire(self, key: str) -> bool:
        """Take the lease of ``key``; ``False`` when another live run holds it."""
        path = self._path(key)
        if not (self._create(path) or self._take_over(path)):
            return False
        with self._lock:
            self._held.add(key)
        self._start_heartbeat()
        return True

    def release(self, key: str) -> None:
        """Give the lease back (the answer is in the cache, or the request failed)."""
        with self._lock:
            self._held.discard(key)
        _unlink(self._path(key))

    def held_elsewhere(self, key: str) -> bool:
        """Whether a live run other than this one still holds ``key``."""
        path = self._path(key)
        return os.path.exists(path) and not self._stale(path)

    def _create(self, path: str) -> bool:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileNotFoundError:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            return self._create(path)
        except FileExistsError:
            return False
        try:
            os.write(fd, self._me)
        finally:
            os.close(fd)
        return True

    def _take_over(self, path: str) -> bool:
        """Replace the stale lease at ``path`` by ours; ``False`` when it is live or another run is
        taking it over.

        Two runs that both saw a dead holder's lease must not both remove "it": the second would delete
        the lease the first had just created, and both would pay. So a takeover holds an exclusive
        ``.takeover`` guard, judges the lease again under it, and creates the new lease before letting
        go. Outside a takeover, leases are only ever created (exclusively) or removed by their holder.
        """
        if not self._stale(path):
            return False
        guard = f"{path}.takeover"
        if not self._create(guard):
            if self._stale(guard, after=TAKEOVER_STALE_AFTER):  # left by a taker that died mid-takeover
                _unlink(guard)
            return False
        try:
            if self._create(path):  # released meanwhile
                return True
            if not self._stale(path):
                return False
            _unlink(path)
            return self._create(path)
        finally:
            _unlink(guard)

    @staticmethod
    def _stale(path: str, after: float = STALE_AFTER) -> bool:
        """A lease not refreshed for :data:`STALE_AFTER` seconds, or whose holder on this host is dead."""
        age = 0.0
        try:
            age = time.time() - os.stat(path).st_mtime
            holder = json.loads(Path(path).read_bytes() or b"{}")
        except FileNotFoundError:
            return True
        except (OSError, ValueError):  # being written right now, or damaged: judge by its age
            return age > after
        if age > after:
            return True
        pid = holder.get("pid") if isinstance(holder, dict) else None
        return holder.get("host") == _HOST and isinstance(pid, int) and not psutil.pid_exists(pid)

    # ---- heartbeat -------------------------------------------------------------------------
    def _start_heartbeat(self) -> None:
        with self._lock:
            if self._beating:
                return
            self._beating = True
        threading.Thread(target=self._beat, name="synthgen-request-leases", daemon=True).start()

    def _beat(self) -> None:
        while True:
            time.sleep(HEARTBEAT)
            with self._lock:
                held = list(self._held)
            for key in held:
                try:
                    os.utime(self._path(key))
                except OSError:
                    pass  # released meanwhile


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


_LEASES: dict[str, RequestLeases] = {}


def request_leases(store: Store | None) -> RequestLeases | None:
    """This process's leases on ``store``'s root; ``None`` outside a run or on object storage."""
    if store is None or store.remote:
        return None
    if store.location not in _LEASES:
        _LEASES[store.location] = RequestLeases(Path(store.location))
    return _LEASES[store.location]
