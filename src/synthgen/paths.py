"""One helper through which every cache path built from a name goes.

Names are checked where they enter (:mod:`synthgen.names`); this checks the path again where it is
built, after resolving symbolic links, so neither a name nor a link planted inside the cache can make
a read, a write or a removal land outside its root.
"""

from __future__ import annotations

import os
from pathlib import Path

from synthgen.errors import CacheError


class Confined:
    """A folder whose paths may not resolve outside it.

    Each folder below the root is resolved once per instance (a run makes one per cache root): the
    links this guards against are those in a cache prepared by someone else, there before the run
    looks. A link planted while the run goes on would race any check made before the open.

    Args:
        root: the folder (itself resolved once, so a root that is a link is fine).
    """

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        self._real = os.path.realpath(root).rstrip(os.sep) + os.sep
        self._prefix = str(self.root).rstrip(os.sep) + os.sep
        self._folders_inside: set[str] = set()

    def path(self, *parts: str) -> Path:
        """``root/part/...``, refused when it would resolve outside ``root``.

        Args:
            parts: names or ``/``-separated relative paths below the root.

        Returns:
            The joined path (not resolved: the caller opens the path it named).

        Raises:
            CacheError: a part is empty, absolute or has ``..``, or the path resolves outside the root
                through a symbolic link.
        """
        for part in parts:
            check_relative(part, self.root)
        path = self.root.joinpath(*parts)
        self._check_folder(str(path.parent))
        if os.path.islink(path):
            self._check(str(path))
        return path

    def entry(self, name: str) -> str:
        """``root/name`` as a string, with its folders checked but not its last component: for callers
        that never follow a link there (they replace the entry by a rename, remove it, or open it with
        ``O_NOFOLLOW``). One set lookup instead of a system call per folder: this runs several times per
        batch of every step.

        Raises:
            CacheError: as :meth:`path`.
        """
        check_relative(name, self.root)
        full = self._prefix + name
        self._check_folder(full.rpartition("/")[0])
        return full

    def _check_folder(self, folder: str) -> None:
        if folder not in self._folders_inside:
            self._check(folder)
            self._folders_inside.add(folder)

    def _check(self, path: str) -> None:
        real = os.path.realpath(path)
        if not (real + os.sep).startswith(self._real):
            raise CacheError(f"refusing the cache path {path}: it resolves to {real}, outside the cache root "
                             f"{self._real.rstrip(os.sep)} (a symbolic link inside the cache points out of it): "
                             "remove the link")


def inside(root: Path | str, *parts: str) -> Path:
    """``root/part/...`` when it stays inside ``root`` (see :meth:`Confined.path`).

    Raises:
        CacheError: the path would leave ``root``.
    """
    return Confined(root).path(*parts)


def check_relative(part: str, root: Path | str) -> None:
    """Refuse a part that is empty, absolute or climbs (``..``): the check that needs no file system
    (object storage has no links, so this is all its keys need).

    Raises:
        CacheError: the part would leave ``root``.
    """
    if not part or part.startswith(("/", "\\")) or ".." in part.replace("\\", "/").split("/") or "\0" in part:
        raise CacheError(f"refusing the cache path {part!r} under {root}: a path built from a name must be a "
                         "plain relative name (no '..', no leading '/'): rename what produced it")
