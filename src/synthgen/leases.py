"""Leases on work in progress: runs sharing one cache compute each batch and pay each request once.

The cache answers work that an earlier run finished; a lease covers the moment before the answer
exists. Before computing a batch or sending a request, a run takes the lease of its key
(``leases/<kind>/<key>.lease`` in the cache root): exactly one run wins. A run that finds the lease
held by another live run does not do the work: it waits (or works on something else) until the lease
is gone, then reads the answer from the cache. The holder gives the lease back when the answer is
written, or when the work failed (a waiter then does it itself).

A lease names its holder (host, pid, PID namespace, start time) and is refreshed every :data:`HEARTBEAT`
seconds while held, so a killed run never blocks the next: a lease is stale when its holder is a dead
process on this host (:func:`~synthgen.lease_holders.process_gone`), or when it was not refreshed for
:data:`STALE_AFTER` seconds (a holder on another host, or in another container). A stale lease is
taken over, by exactly one of the runs that find it.

Two places hold leases, with one protocol:

- a local cache root (one machine, or the nodes of a cluster sharing a POSIX file system): a lease is a
  file created with ``O_EXCL``; acquiring and releasing one are a few system calls, as they run once per
  LLM request;
- an ``s3://`` cache root: a lease is an object written with S3's conditional writes (``If-None-Match: *``
  creates it only if absent; ``If-Match: <etag>`` refreshes, takes over or deletes only the lease that
  was read), so two drivers on different machines agree without any other service.

Other object stores (``gs://``, ``az://``) have no such writes through fsspec: there, runs fall back to
the cache alone (work in flight in two runs at once may be done twice; see docs/caching.md).
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from abc import ABC, abstractmethod
from pathlib import Path

from loguru import logger

from synthgen.blobs import RemoteBlobs, blobs_at
from synthgen.lease_holders import HolderFile, process_gone, remove_file, this_process, touch

HEARTBEAT = 10.0
STALE_AFTER = 60.0
OWN_FILE = "file"  # the version of a local lease that is a file of its own, not a link to a holder file
TAKEOVER_STALE_AFTER = 5.0  # a takeover lasts microseconds; a guard this old was left by a dead taker
HOST = socket.gethostname()


def holder_gone(holder: object, age: float, after: float | None = None) -> bool:
    """Whether a lease ``age`` seconds after its last refresh, held by ``holder``, may be taken over:
    not refreshed for ``after`` seconds (default :data:`STALE_AFTER`), or its holder is a process known
    to be dead (:func:`~synthgen.lease_holders.process_gone`)."""
    if age > (STALE_AFTER if after is None else after):
        return True
    return isinstance(holder, dict) and process_gone(holder, HOST)


class Leases(ABC):
    """The leases of one process on one cache root for one kind of key (thread-safe).

    Subclasses say where a lease lives; this class keeps which keys are held and refreshes them.
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._held: dict[str, str] = {}  # key -> the version of its lease we wrote (an S3 ETag; locally see _place)
        self._lock = threading.Lock()
        self._beating = False

    def acquire(self, key: str) -> bool:
        """Take the lease of ``key``; ``False`` when another live run (or this one) holds it."""
        version = self._claim(key)
        if version is None:
            return False
        with self._lock:
            self._held[key] = version
        self._start_heartbeat()
        return True

    def release(self, key: str) -> None:
        """Give the lease of ``key`` back (its answer is in the cache, or the work failed)."""
        with self._lock:
            version = self._held.pop(key, None)
        if version is not None:
            self._drop(key, version)

    @abstractmethod
    def held_elsewhere(self, key: str) -> bool:
        """Whether a live run still holds ``key`` (this one too: the same key asked twice waits as well)."""

    @abstractmethod
    def _claim(self, key: str) -> str | None:
        """Create the lease, or take a stale one over: the version written, ``None`` when held."""

    @abstractmethod
    def _drop(self, key: str, version: str) -> None:
        """Remove our lease of ``key`` (only ours: not one that replaced it)."""

    @abstractmethod
    def _refresh(self, key: str, version: str) -> str | None:
        """Mark our lease of ``key`` alive again: its new version, ``None`` when it is no longer ours."""

    # ---- heartbeat -------------------------------------------------------------------------
    def _start_heartbeat(self) -> None:
        with self._lock:
            if self._beating:
                return
            self._beating = True
        threading.Thread(target=self._beat, name=f"synthgen-{self.kind}-leases", daemon=True).start()

    def _beat(self) -> None:
        while True:
            time.sleep(HEARTBEAT)
            with self._lock:
                held = list(self._held.items())
            for key, version in self._renew_together(held):
                self._renew(key, version)

    def _renew_together(self, held: list[tuple[str, str]]) -> list[tuple[str, str]]:
        """Refresh at once what can be (all local leases linked to one holder file); the rest, one by one."""
        return held

    def _renew(self, key: str, version: str) -> None:
        try:
            fresh = self._refresh(key, version)
        except Exception as exc:  # a storage hiccup (botocore's are not OSErrors): the next beat tries again
            # long before expiry; the heartbeat thread must outlive it, or every lease it keeps would expire
            logger.warning(f"could not refresh the lease of {self.kind} {key}: {exc}")
            return
        with self._lock:
            released = self._held.get(key) != version
            if not released and fresh is None:  # judged dead (a pause past STALE_AFTER): the taker works
                logger.warning(f"the lease of {self.kind} {key} was taken over by another run")
                del self._held[key]
            elif not released:
                self._held[key] = fresh  # type: ignore[assignment]
        if released and fresh:
            # Released while we refreshed it: the release removed the version it knew, which our refresh
            # had just replaced. Remove ours too, or the lease outlives its holder's work. (Local leases
            # have no versions: a release removes the file whatever was refreshed.)
            self._drop(key, fresh)


class LocalLeases(Leases):
    """Leases as files under ``<root>/leases/<kind>``.

    A lease is a hard link to this process's *holder file* (``holders/``: its host and pid): one
    directory entry, where creating and writing a file allocates an inode and a block (3 µs against
    50-250 µs here; the runner takes a lease per batch and per request). The links share the holder's
    modification time, so one ``utime`` refreshes them all. Where links cannot be made (some network
    file systems), a lease is a file of its own, as the guard of a takeover always is.

    Args:
        root: the local cache root.
        kind: the kind of key (``requests``, ``batches``).
    """

    def __init__(self, root: Path, kind: str) -> None:
        super().__init__(kind)
        self.folder = root / "leases" / kind
        self._prefix = f"{self.folder}/"  # paths as strings: this runs twice per LLM request
        self._me = json.dumps(this_process(HOST)).encode()
        self._holder = HolderFile(self.folder / "holders", HOST, self._me)

    def _path(self, key: str) -> str:
        return f"{self._prefix}{key[:2]}/{key}.lease"

    def held_elsewhere(self, key: str) -> bool:
        path = self._path(key)
        return os.path.exists(path) and not self._stale(path)

    def _claim(self, key: str) -> str | None:
        path = self._path(key)
        return self._place(path) or self._take_over(path)

    def _drop(self, key: str, version: str) -> None:
        remove_file(self._path(key))

    def _refresh(self, key: str, version: str) -> str | None:
        try:
            os.utime(self._path(key))
        except FileNotFoundError:
            pass  # released meanwhile
        return version

    def _renew_together(self, held: list[tuple[str, str]]) -> list[tuple[str, str]]:
        rest, alive = [], {}
        for key, version in held:
            if version != OWN_FILE and version not in alive:
                alive[version] = touch(version)  # the holder file the lease links to
            if version == OWN_FILE or not alive[version]:  # a removed holder: the link refreshes its inode
                rest.append((key, version))
        return rest

    def _place(self, path: str) -> str | None:
        """Create our lease at ``path``: its version (the holder file it links to, or :data:`OWN_FILE`),
        ``None`` when a lease is there."""
        linked = self._holder.link(path)
        if isinstance(linked, str):
            return linked
        if linked is False:
            return None
        return OWN_FILE if self._create(path) else None

    def _create(self, path: str) -> bool:
        """Create the lease file exclusively: ``False`` when it exists. Where it cannot be written (a full
        disk, a read-only cache) the work goes on unleased, as before leases: the write of the work's own
        result then reports the disk in one line (an empty lease would block every other run instead)."""
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileNotFoundError:
            try:
                os.makedirs(os.path.dirname(path), exist_ok=True)
            except OSError:
                return True
            return self._create(path)
        except FileExistsError:
            return False
        except OSError:
            return True
        try:
            os.write(fd, self._me)
        except OSError:
            remove_file(path)
        finally:
            os.close(fd)
        return True

    def _take_over(self, path: str) -> str | None:
        """Replace the stale lease at ``path`` by ours: its version; ``None`` when it is live or another
        run is taking it over.

        Two runs that both saw a dead holder's lease must not both remove "it": the second would delete
        the lease the first had just created, and both would do the work. So a takeover holds an
        exclusive ``.takeover`` guard (a file of its own: its age is its taker's), judges the lease again
        under it, and creates the new lease before letting go. Outside a takeover, leases are only ever
        created (exclusively) or removed by their holder.
        """
        if not self._stale(path):
            return None
        guard = f"{path}.takeover"
        if not self._create(guard):
            # Only a guard that is there and whose taker died is removed: a guard missing by now was let go,
            # and "removing" it would delete the one a third run has just made (two takers in at once).
            if self._stale(guard, after=TAKEOVER_STALE_AFTER, missing=False):
                remove_file(guard)
            return None
        try:
            placed = self._place(path)
            if placed is not None:  # missing: released meanwhile
                return placed
            if not self._stale(path):
                return None
            remove_file(path)  # there (the create failed) and stale: nobody but a guard holder replaces it
            return self._place(path)
        finally:
            remove_file(guard)

    @staticmethod
    def _stale(path: str, after: float | None = None, missing: bool = True) -> bool:
        """Whether the lease at ``path`` protects nothing (its holder is gone); ``missing``: the answer
        when there is none."""
        age = 0.0
        try:
            age = time.time() - os.stat(path).st_mtime
            holder = json.loads(Path(path).read_bytes() or b"{}")
        except FileNotFoundError:
            return missing
        except (OSError, ValueError):  # being written right now, or damaged: judge by its age
            return holder_gone(None, age, after)
        return holder_gone(holder, age, after)


class BucketLeases(Leases):
    """Leases as objects under ``leases/<kind>`` of an S3 cache root, written conditionally.

    A lease object carries its holder and the time it was last refreshed (``renewed``, the holder's
    clock: hosts are compared with each other, hence the wide :data:`STALE_AFTER`). Every write after
    the first names the ETag it replaces, so of two runs taking over one stale lease, or a holder
    refreshing a lease that was just taken over, exactly one write lands.

    Args:
        blobs: the cache root in the bucket.
        kind: the kind of key (``requests``, ``batches``).
    """

    def __init__(self, blobs: RemoteBlobs, kind: str) -> None:
        super().__init__(kind)
        self.blobs = blobs
        self._me = this_process(HOST)

    def _name(self, key: str) -> str:
        return f"leases/{self.kind}/{key[:2]}/{key}.lease"

    def _stamp(self) -> bytes:
        return json.dumps({**self._me, "renewed": time.time()}).encode()

    def held_elsewhere(self, key: str) -> bool:
        try:
            data = self.blobs.read(self._name(key))
        except FileNotFoundError:
            return False
        return not _stale_stamp(data)

    def _claim(self, key: str) -> str | None:
        name = self._name(key)
        created = self.blobs.create(name, self._stamp())
        if created is not None:
            return created
        found = self.blobs.read_versioned(name)
        if found is None:  # released meanwhile
            return self.blobs.create(name, self._stamp())
        data, etag = found
        return self.blobs.replace(name, self._stamp(), etag) if _stale_stamp(data) else None

    def _drop(self, key: str, version: str) -> None:
        self.blobs.remove_version(self._name(key), version)

    def _refresh(self, key: str, version: str) -> str | None:
        return self.blobs.replace(self._name(key), self._stamp(), version)


def _stale_stamp(data: bytes) -> bool:
    try:
        holder = json.loads(data)
        age = time.time() - float(holder["renewed"])
    except (ValueError, TypeError, KeyError):
        return True  # a damaged lease protects nothing
    return holder_gone(holder, age)


_LEASES: dict[tuple[int, str, str], Leases | None] = {}


def leases_at(location: str, kind: str) -> Leases | None:
    """This process's leases of ``kind`` on the cache root at ``location`` (a folder or an object-storage
    URL, as :class:`synthgen.store.Store` names it); ``None`` where the root has no conditional writes."""
    # Keyed by pid too: a forked child must not name its parent as the holder, nor count on a heartbeat
    # thread that fork did not copy.
    slot = (os.getpid(), location, kind)
    found = _LEASES.get(slot, False)
    if found is False:
        found = _LEASES[slot] = _make(location, kind)
    return found  # type: ignore[return-value]


def _make(location: str, kind: str) -> Leases | None:
    if "://" not in location:
        return LocalLeases(Path(location), kind)
    blobs = blobs_at(location)
    if isinstance(blobs, RemoteBlobs) and blobs.conditional_writes:
        return BucketLeases(blobs, kind)
    return None
