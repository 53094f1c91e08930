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

    Args:
        root: the folder (itself resolved once, so a root that is a link is fine).
    """

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        self._real = os.path.realpath(root).rstrip(os.sep) + os.sep

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
        real = os.path.realpath(path)
        if not (real + os.sep).startswith(self._real):
            raise CacheError(f"refusing the cache path {path}: it resolves to {real}, outside the cache root "
                             f"{self._real.rstrip(os.sep)} (a symbolic link inside the cache points out of it): "
                             "remove the link")
        return path


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
