"""Named byte blobs in a folder: a local folder, or a prefix of object storage through fsspec.

The store, the run folder and the driver lease only need: write a blob whole or not at all, read one,
its size, list a folder, remove. Locally a write is tmp + fsync + rename (:func:`write_atomic`); in
object storage a PUT already is atomic and durable when it returns, so a blob is written directly.
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import os
import shutil
import stat
import threading
from pathlib import Path
from typing import Any, Protocol

from synthgen.cache_location import OBJECT_STORES
from synthgen.errors import CacheError
from synthgen.paths import Confined, check_relative

_MADE_DIRS: set[str] = set()  # folders this process created or saw: no mkdir per write
_TMP_IDS = itertools.count()


def write_atomic(path: Path | str, data: bytes, sync: bool = True) -> None:
    """Write ``data`` to ``path`` so that a reader sees the whole file or nothing (tmp, fsync, rename).

    ``sync=False`` skips the per-file fsync for bulk writes that end with one ``os.sync()``. This runs
    once per LLM answer, so it keeps to plain syscalls: the temporary name is unique to this process
    and thread (no random retries) and each folder is created once.
    """
    folder, filename = os.path.split(path)
    if folder not in _MADE_DIRS:
        os.makedirs(folder, exist_ok=True)
        _MADE_DIRS.add(folder)
    tmp = f"{folder}/.{filename}.{os.getpid()}.{threading.get_ident()}.{next(_TMP_IDS)}.tmp"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileNotFoundError:  # the folder was removed meanwhile (cache clear): make it again
        _MADE_DIRS.discard(folder)
        os.makedirs(folder, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        if sync:
            os.fsync(fd)
        os.close(fd)
        fd = -1
        os.replace(tmp, path)
    except BaseException:
        if fd >= 0:
            os.close(fd)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


class Blobs(Protocol):
    """A folder of blobs; ``name`` is a ``/``-separated path inside it."""

    remote: bool
    location: str

    def write(self, name: str, data: bytes, sync: bool = True) -> None: ...
    def write_many(self, blobs: dict[str, bytes]) -> None: ...
    def sync(self, name: str) -> None: ...  # make a blob written with sync=False durable
    def read(self, name: str) -> bytes: ...  # FileNotFoundError when absent
    def size(self, name: str) -> int | None: ...
    def exists(self, name: str) -> bool: ...
    def remove(self, name: str) -> None: ...
    def names(self, folder: str = "") -> list[str]: ...
    def clear(self) -> None: ...


_READ_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)


def _read_all(fd: int) -> bytes:
    """The whole file open at ``fd``: one fstat and (for a file not growing) one read, where Python's
    ``open().read()`` adds a buffer, an ioctl, seeks and a second fstat."""
    size = os.fstat(fd).st_size
    data = os.read(fd, size + 1)
    if len(data) <= size:
        return data
    chunks = [data]
    while chunk := os.read(fd, 1 << 20):
        chunks.append(chunk)
    return b"".join(chunks)


class LocalBlobs:
    """Blobs as files under ``root``."""

    remote = False

    def __init__(self, root: Path) -> None:
        self.root = root
        self.location = str(root)
        self._confined = Confined(root)

    def _path(self, name: str) -> str:
        # Every blob name is checked (no '..'), and so are the folders it is in: no link planted in the
        # cache may lead out of it. A blob itself is never followed if it is a link: writes replace it
        # (rename), removals unlink it, reads open it with O_NOFOLLOW.
        return self._confined.entry(name)

    def write(self, name: str, data: bytes, sync: bool = True) -> None:
        write_atomic(self._path(name), data, sync=sync)

    def write_many(self, blobs: dict[str, bytes]) -> None:
        """Many files with one ``os.sync()`` instead of an fsync each (50,000 batch results)."""
        for name, data in blobs.items():
            write_atomic(self._path(name), data, sync=False)
        if blobs:
            os.sync()

    def sync(self, name: str) -> None:
        # fsync after the rename: on ext4 the fsync also commits the journal transaction holding it.
        fd = os.open(self._path(name), _READ_FLAGS)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def read(self, name: str) -> bytes:
        path = self._path(name)
        try:
            fd = os.open(path, _READ_FLAGS)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise CacheError(f"refusing the cache path {path}: it is a symbolic link, which a cache never "
                                 "holds (it may point outside the cache root): remove the link") from None
            raise
        try:
            return _read_all(fd)
        finally:
            os.close(fd)

    def size(self, name: str) -> int | None:
        try:
            found = os.lstat(self._path(name))
        except FileNotFoundError:
            return None
        return None if stat.S_ISLNK(found.st_mode) else found.st_size  # a link is no blob: written over

    def exists(self, name: str) -> bool:
        return os.path.lexists(self._path(name))

    def remove(self, name: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._path(name))

    def names(self, folder: str = "") -> list[str]:
        try:
            return os.listdir(self._confined.path(folder) if folder else self.location)
        except FileNotFoundError:
            return []

    def clear(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)
        self.root.mkdir(parents=True, exist_ok=True)


class RemoteBlobs:
    """Blobs as objects under an object-storage URL (credentials and endpoints as fsspec reads them:
    the backend's own environment variables, or ``FSSPEC_S3_ENDPOINT_URL``-style settings)."""

    remote = True

    def __init__(self, url: str) -> None:
        self.location = url.rstrip("/")
        self._fs, self._base = _filesystem(self.location)
        # s3fs reads a whole object by asking its size first (a HEAD, and a LIST when it is missing) to
        # split large ones; our blobs are small, and a request-cache miss must stay one GET.
        self._read_kwargs = {"max_concurrency": 1} if self.location.startswith(("s3://", "s3a://")) else {}

    def __reduce__(self) -> tuple[Any, ...]:  # a process rebuilds its own client
        return (RemoteBlobs, (self.location,))

    def _path(self, name: str) -> str:
        if not name:
            return self._base
        check_relative(name, self.location)
        return f"{self._base}/{name}"

    def write(self, name: str, data: bytes, sync: bool = True) -> None:
        self._fs.pipe_file(self._path(name), data)

    def write_many(self, blobs: dict[str, bytes]) -> None:
        if blobs:  # concurrently, in one call
            self._fs.pipe({self._path(n): d for n, d in blobs.items()})

    def sync(self, name: str) -> None:
        pass  # an object is durable once its write returned

    def read(self, name: str) -> bytes:
        return bytes(self._fs.cat_file(self._path(name), **self._read_kwargs))

    # ---- conditional writes (S3: If-None-Match / If-Match), for leases -------------------------
    @property
    def conditional_writes(self) -> bool:
        """Whether :meth:`create`, :meth:`replace` and :meth:`remove_version` work here (S3 only)."""
        return self.location.startswith(("s3://", "s3a://"))

    def create(self, name: str, data: bytes) -> str | None:
        """Write ``name`` only if it does not exist: its version (ETag), or ``None`` when it exists."""
        try:
            written = self._fs.pipe_file(self._path(name), data, mode="create")
        except FileExistsError:
            return None
        return str(written["ETag"])

    def replace(self, name: str, data: bytes, version: str) -> str | None:
        """Overwrite ``name`` only if it is still at ``version``: its new version, or ``None``."""
        try:
            written = self._fs.pipe_file(self._path(name), data, IfMatch=version)
        except FileNotFoundError:
            return None
        except OSError as exc:
            if exc.errno == errno.EINVAL:  # s3fs's translation of 412 Precondition Failed
                return None
            raise
        return str(written["ETag"])

    def read_versioned(self, name: str) -> tuple[bytes, str] | None:
        """The bytes of ``name`` and the version they were read at (``None`` when absent). The version
        is read first: if the object changes in between, a :meth:`replace` at it fails (never wrongly
        succeeds)."""
        path = self._path(name)
        self._fs.invalidate_cache(path)
        try:
            version = str(self._fs.info(path)["ETag"])
            return self.read(name), version
        except FileNotFoundError:
            return None

    def remove_version(self, name: str, version: str) -> None:
        """Remove ``name`` only if it is still at ``version`` (not a newer write of someone else)."""
        bucket, key, _ = self._fs.split_path(self._path(name))
        try:
            self._fs.call_s3("delete_object", Bucket=bucket, Key=key, IfMatch=version)
        except FileNotFoundError:
            pass
        except OSError as exc:
            if exc.errno != errno.EINVAL:
                raise
        self._fs.invalidate_cache(self._path(name))

    def size(self, name: str) -> int | None:
        path = self._path(name)
        self._fs.invalidate_cache(path)  # another process may have written it since this one listed
        try:
            return int(self._fs.info(path)["size"])
        except FileNotFoundError:
            return None

    def exists(self, name: str) -> bool:
        return self.size(name) is not None

    def remove(self, name: str) -> None:
        try:
            self._fs.rm_file(self._path(name))
        except FileNotFoundError:
            pass

    def names(self, folder: str = "") -> list[str]:
        path = self._path(folder)
        self._fs.invalidate_cache(path)
        try:
            return [str(p).rstrip("/").rsplit("/", 1)[-1] for p in self._fs.ls(path, detail=False)]
        except FileNotFoundError:
            return []

    def clear(self) -> None:
        self._fs.invalidate_cache(self._base)
        try:
            self._fs.rm(self._base, recursive=True)
        except FileNotFoundError:
            pass


def _filesystem(url: str) -> tuple[Any, str]:
    import fsspec

    protocol = url.partition("://")[0]
    try:
        return fsspec.core.url_to_fs(url)  # type: ignore[no-any-return]
    except ImportError as exc:
        raise CacheError(f"the cache at '{url}' needs {OBJECT_STORES.get(protocol, 'an fsspec backend')}: "
                         f"{exc}") from None


def blobs_at(location: str) -> Blobs:
    """The blobs of a local folder, or of an object-storage URL (as :class:`~synthgen.cache_location.CacheRoot`
    resolves them: a local location is never a URL)."""
    return RemoteBlobs(location) if "://" in location else LocalBlobs(Path(location))
