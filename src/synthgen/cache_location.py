"""Where the cache lives: light enough for ``import synthgen`` (the store itself needs pyarrow)."""

from __future__ import annotations

import os
from pathlib import Path

from synthgen.errors import CacheError


def default_cache_dir() -> Path:
    """``$SYNTHGEN_CACHE_DIR`` or ``~/.cache/synthgen/pipelines``."""
    env = os.environ.get("SYNTHGEN_CACHE_DIR")
    return local_cache_root(env) if env else Path.home() / ".cache" / "synthgen" / "pipelines"


_LOCAL_PROTOCOLS = {"file", "local"}


def local_cache_root(root: str | Path) -> Path:
    """The cache root as a local path: a path, or a ``file://`` URL (a filesystem that every node
    mounts at the same path, for Ray).

    Raises:
        CacheError: ``root`` is a URL of object storage or another remote filesystem.
    """
    text = str(root)
    if "://" not in text:
        return Path(text).expanduser()
    protocol, _, rest = text.partition("://")
    if protocol.lower() in _LOCAL_PROTOCOLS:
        return Path(rest).expanduser()
    raise CacheError(
        f"cache root '{text}' is a {protocol}:// URL: the cache needs a filesystem with atomic renames, "
        "fsync and file locks (it holds paid LLM answers and the run journals), which object storage does "
        "not give. Use a local path or a shared filesystem that every node mounts at the same path (NFS, "
        "EFS, Filestore, Lustre, CephFS), and write the final dataset to object storage with "
        f"distiset.save_to_disk('{text.rstrip('/')}/...') or push_to_hub"
    )
