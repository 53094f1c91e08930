"""Holder files: what a process's local leases are hard links to (see :class:`synthgen.leases.LocalLeases`).

A lease made as a link costs one directory entry; a lease file created and written costs an inode and
a data block (3 µs against 50-250 µs on ext4 here, and the runner takes one per batch and per LLM
request). The links share their holder's inode, so its content names the holder for whoever judges a
lease, and one ``utime`` refreshes every lease the process holds.
"""

from __future__ import annotations

import atexit
import errno
import itertools
import json
import os
import re
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import psutil


def _pid_namespace() -> str | None:
    try:
        return os.readlink("/proc/self/ns/pid")  # 'pid:[4026531836]'; one per container (Linux)
    except OSError:
        return None


PID_NAMESPACE = _pid_namespace()
TOUCH_EVERY = 1.0  # seconds: a lease linked now must look as fresh as one written now
SWEEP_AFTER = 86_400.0  # a holder file of another host untouched this long is gone with its process
# Where these come, the file system has no hard links: leases are files of their own.
_NO_LINKS = {errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EXDEV, errno.ENOSYS}
_IDS = itertools.count()


class HolderFile:
    """This process's holder file in one folder of leases, made when first linked to.

    Args:
        folder: where holder files live (``leases/<kind>/holders``).
        host: this host's name, as leases name it.
        content: what a lease says of its holder (host and pid, as JSON).
    """

    def __init__(self, folder: Path, host: str, content: bytes) -> None:
        self.folder, self.host, self.content = folder, host, content
        self._prefix = f"{re.sub(r'[^A-Za-z0-9_-]', '_', host)}.{os.getpid()}."
        self._path: str | None = None
        self._touched = 0.0
        self._usable = True
        self._lock = threading.Lock()

    def link(self, path: str) -> str | Literal[False] | None:
        """Make ``path`` a link to the holder file: the holder's path (the lease's version), ``False``
        when something is at ``path`` already, ``None`` when no link can be made (make a file instead)."""
        for _ in range(2):
            holder = self._fresh()
            if holder is None:
                return None
            try:
                os.link(holder, path)
                return holder
            except FileExistsError:
                return False
            except FileNotFoundError:  # a new fan-out folder, or our holder removed (a cache clear)
                if not _make_folder(os.path.dirname(path)) or not os.path.exists(holder):
                    self._forget(holder)
            except OSError as exc:
                self._forget(holder)  # EMLINK: ~65,000 links to one inode; the next holder starts afresh
                if exc.errno in _NO_LINKS:
                    self._usable = False
                if exc.errno != errno.EMLINK:
                    return None
        return None

    def _fresh(self) -> str | None:
        with self._lock:
            if not self._usable:
                return None
            now = time.monotonic()
            if self._path is not None and now - self._touched > TOUCH_EVERY:
                if touch(self._path):
                    self._touched = now
                else:
                    self._path = None
            if self._path is None:
                self._path, self._touched = self._create(), now
            return self._path

    def _forget(self, holder: str) -> None:
        with self._lock:
            if self._path == holder:
                self._path = None

    def _create(self) -> str | None:
        if not _make_folder(str(self.folder)):
            return None
        sweep(self.folder, self._prefix.split(".", 1)[0], self.host)
        path = f"{self.folder}/{self._prefix}{next(_IDS)}.holder"
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except OSError:
            return None
        try:
            os.write(fd, self.content)
        except OSError:
            remove_file(path)  # an empty holder names nobody (a full disk): make lease files instead
            return None
        finally:
            os.close(fd)
        atexit.register(remove_file, path)
        return path


def this_process(host: str) -> dict[str, Any]:
    """What a lease says of its holder: host, pid, PID namespace and start time (see :func:`process_gone`)."""
    me = psutil.Process()
    return {"host": host, "pid": me.pid, "pidns": PID_NAMESPACE, "started": round(me.create_time(), 2)}


def process_gone(holder: Mapping[str, Any], host: str) -> bool:
    """Whether the process a lease names is known to be dead, so its lease can be taken over at once.

    Only a holder on this host, in this PID namespace, can be looked up: its pid is free, a zombie, or
    taken by a process started later (a reused pid). Containers sharing this host's name (host
    networking) have PID namespaces of their own, where our pids mean other processes: their leases are
    judged by age only. A holder written by an earlier synthgen names neither namespace nor start.
    """
    pid = holder.get("pid")
    if holder.get("host") != host or not isinstance(pid, int):
        return False
    if holder.get("pidns", PID_NAMESPACE) != PID_NAMESPACE:
        return False
    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:  # killed, not yet reaped: it holds nothing
            return True
        started = holder.get("started")
        return isinstance(started, (int, float)) and abs(process.create_time() - started) > 1.0
    except psutil.NoSuchProcess:
        return True
    except psutil.Error:  # not ours to look at: alive
        return False


def touch(path: str) -> bool:
    """Refresh the holder file at ``path`` (every lease linked to it); ``False`` when it is gone."""
    try:
        os.utime(path)
    except OSError:
        return False
    return True


def sweep(folder: Path, prefix: str, host: str) -> None:
    """Remove the holder files of processes that are gone: those named for this host (``prefix``) whose
    process is (:func:`process_gone`), and any not touched for a day. A removed name does not touch the
    leases linked to it (they are names of the same inode), so a sweep can never free a lease."""
    try:
        names = os.listdir(folder)
    except OSError:
        return
    for name in names:
        path = f"{folder}/{name}"
        if (name.startswith(f"{prefix}.") and _holder_gone(path, host)) or _age(path) > SWEEP_AFTER:
            remove_file(path)


def _holder_gone(path: str, host: str) -> bool:
    try:
        holder = json.loads(Path(path).read_bytes())
    except (OSError, ValueError):
        return False  # being written, or gone already: its age decides
    return isinstance(holder, dict) and process_gone(holder, host)


def _age(path: str) -> float:
    try:
        return time.time() - os.stat(path).st_mtime
    except OSError:
        return 0.0


def _make_folder(folder: str) -> bool:
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError:
        return False
    return True


def remove_file(path: str) -> None:
    """Unlink ``path``; one already gone is fine (leases and holder files are removed by whoever ends first)."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
