"""One driver per pipeline on a shared object-storage cache.

A local cache has a file lock per pipeline folder (:func:`synthgen.runner.journal.run_lock`). Object
storage has no locks, and two drivers on different machines running the same pipeline over the same
bucket would send — and pay for — the same requests. So a driver holds a lease there: a small blob with
its host, pid and the time it last renewed it, renewed every few seconds while it runs. A second driver
that finds a fresh lease stops with a message naming the first; one that finds a stale lease, or the
lease of a dead process on its own machine (a driver killed and started again), takes it over.

Two drivers starting in the same instant could both find no lease: each writes its own, waits a
moment and reads it back, and only the last writer goes on (object stores are read-after-write
consistent). Host clocks are compared against each other, so the lease outlives the renewal interval
by a wide margin.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from loguru import logger

from synthgen.blobs import Blobs
from synthgen.errors import CacheError
from synthgen.lease_holders import process_gone, this_process

LEASE = "lease.json"
RENEW_EVERY = 10.0
EXPIRES_AFTER = 60.0
SETTLE = 0.5  # between writing a new lease and reading it back


@contextmanager
def driver_lease(folder: Blobs, name: str) -> Iterator[None]:
    """Hold the lease of pipeline ``name`` in ``folder`` (its folder in the bucket) while the block runs.

    Raises:
        CacheError: another driver holds a fresh lease.
    """
    token = uuid.uuid4().hex
    mine: dict[str, object] = {**this_process(socket.gethostname()), "token": token}
    _refuse_if_held(folder, name, _read(folder))
    _write(folder, mine)
    time.sleep(SETTLE)
    _refuse_if_held(folder, name, _read(folder), token)
    stop = threading.Event()
    renewer = threading.Thread(target=_renew, args=(folder, mine, stop), name="synthgen-lease", daemon=True)
    renewer.start()
    try:
        yield
    finally:
        stop.set()
        renewer.join()
        current = _read(folder)
        if current is None or current.get("token") == token:
            folder.remove(LEASE)


def _refuse_if_held(folder: Blobs, name: str, lease: dict[str, object] | None, token: str | None = None) -> None:
    if lease is None or lease.get("token") == token:
        return
    age = time.time() - float(lease.get("renewed", 0))  # type: ignore[arg-type]
    who = f"host {lease.get('host')}, pid {lease.get('pid')}"
    if age >= EXPIRES_AFTER or _died_here(lease):
        if token is None:
            logger.warning(f"pipeline '{name}': taking over the lease of a driver that is gone ({who}, renewed "
                           f"{age:.0f} s ago) on {folder.location}")
        return
    raise CacheError(
        f"pipeline '{name}' is running from another driver ({who}, renewed {max(age, 0):.0f} s ago) on the "
        f"shared cache {folder.location}: wait for it to finish, or give this run another cache_dir. If that "
        f"driver is gone, its lease expires {EXPIRES_AFTER - max(age, 0):.0f} s from now"
    )


def _died_here(lease: dict[str, object]) -> bool:
    """The holder ran on this machine and its process is gone (killed): no need to wait for expiry."""
    return process_gone(lease, socket.gethostname())


def _read(folder: Blobs) -> dict[str, object] | None:
    try:
        value = json.loads(folder.read(LEASE))
    except FileNotFoundError:
        return None
    except ValueError:
        return None  # a damaged lease protects nothing
    return value if isinstance(value, dict) else None


def _write(folder: Blobs, mine: dict[str, object]) -> None:
    folder.write(LEASE, json.dumps({**mine, "renewed": time.time()}).encode(), sync=False)


def _renew(folder: Blobs, mine: dict[str, object], stop: threading.Event) -> None:
    while not stop.wait(RENEW_EVERY):
        try:
            _write(folder, mine)
        except Exception as exc:  # a failed renewal is retried; the run itself goes on
            logger.warning(f"could not renew the driver lease at {folder.location}: {exc}")
