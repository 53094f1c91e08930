"""Where the cache lives: light enough for ``import synthgen`` (the store itself needs pyarrow).

A cache root is a local path (or a ``file://`` URL: a filesystem every node mounts at the same path),
or an object-storage URL such as ``s3://bucket/synthgen``. With object storage the cache has two parts:

- the shared part — objects, batch records, LLM answers, offline batch ledgers — is in the bucket,
  reachable from every node. Everything there is written once under a content-derived key, and an
  object store writes an object whole or not at all and has it durable when the write returns, which is
  what the local store gets from tmp + fsync + rename.
- the driver's part — each pipeline's folder: its run lock, journal, ``pipeline.yaml`` and leaf data —
  is local to the machine that runs the driver, under ``$SYNTHGEN_STATE_DIR`` (default
  ``~/.cache/synthgen/state``). These need file locks and appends that object storage lacks, and only
  the driver touches them. A driver on another machine still resumes from the shared part: every batch
  is keyed by content.
"""

from __future__ import annotations

import importlib.util
import os
import re
from dataclasses import dataclass
from pathlib import Path

from synthgen.errors import CacheError

OBJECT_STORES = {"s3": "s3fs", "s3a": "s3fs", "gs": "gcsfs", "gcs": "gcsfs", "az": "adlfs", "abfs": "adlfs",
                 "abfss": "adlfs"}
"""Object-storage protocols a cache root may use, with the fsspec package each needs."""
_LOCAL_PROTOCOLS = {"file", "local"}


@dataclass(frozen=True)
class CacheRoot:
    """A resolved cache root.

    Attributes:
        location: what every process rebuilds the store from (a path, or the object-storage URL).
        local: the driver's folder: the whole cache for a local root, the pipeline folders for a remote one.
        remote: the object-storage URL (no trailing ``/``), or ``None`` for a local root.
    """

    location: str
    local: Path
    remote: str | None = None


def default_cache_dir() -> Path:
    """The driver's folder of ``$SYNTHGEN_CACHE_DIR`` or ``~/.cache/synthgen/pipelines``."""
    return resolve_cache_root(None).local


def resolve_cache_root(root: str | Path | None) -> CacheRoot:
    """``root`` (``None``: ``$SYNTHGEN_CACHE_DIR`` or ``~/.cache/synthgen/pipelines``) resolved.

    Raises:
        CacheError: ``root`` is a URL of a filesystem the cache cannot run on.
    """
    if root is None:
        env = os.environ.get("SYNTHGEN_CACHE_DIR")
        if not env:
            path = Path.home() / ".cache" / "synthgen" / "pipelines"
            return CacheRoot(str(path), path)
        root = env
    text = str(root)
    if "://" not in text:
        path = Path(text).expanduser()
        return CacheRoot(str(path), path)
    protocol, _, rest = text.partition("://")
    protocol = protocol.lower()
    if protocol in _LOCAL_PROTOCOLS:
        path = Path(rest).expanduser()
        return CacheRoot(str(path), path)
    if protocol not in OBJECT_STORES:
        raise CacheError(
            f"cache root '{text}' is a {protocol}:// URL, which the cache cannot run on: it needs a local or "
            "shared filesystem (a path; NFS, EFS, Lustre mounted at the same path on every node), or object "
            f"storage ({', '.join(p + '://' for p in sorted(OBJECT_STORES))}), where every object is written "
            "whole and durably. To keep the final dataset there, use distiset.save_to_disk(url)"
        )
    rest = rest.strip("/")
    if not rest:
        raise CacheError(f"cache root '{text}' names no bucket: use {protocol}://<bucket>/<folder>")
    package = OBJECT_STORES[protocol]
    if importlib.util.find_spec(package) is None:
        raise CacheError(f"cache root '{text}' needs the {package} package for {protocol}:// URLs: "
                         f"pip install {package}" + (" (or synthgen[s3])" if package == "s3fs" else ""))
    url = f"{protocol}://{rest}"
    return CacheRoot(url, state_dir() / protocol / _safe_relative(rest), url)


def state_dir() -> Path:
    """Where the driver keeps the pipeline folders of object-storage caches."""
    env = os.environ.get("SYNTHGEN_STATE_DIR")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "synthgen" / "state"


def _safe_relative(rest: str) -> Path:
    """``bucket/prefix`` as a relative path with no ``..`` and no characters a filesystem refuses."""
    parts = [re.sub(r"[^A-Za-z0-9_.=-]", "_", p) for p in rest.split("/") if p and p not in (".", "..")]
    return Path(*parts)
