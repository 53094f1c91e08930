"""JSON records that carry their own content hash: checked on every read.

Every small record the cache keeps (batch index entries, LLM answers, offline-batch ledgers, the
pipeline folder's journal files) is a JSON object with one more key, ``content_hash``: the blake2b hash
of the record's canonical JSON and of *where* it is stored (its kind and key, or its path in the
pipeline folder), so an edited record, a truncated one, or a valid record copied under another key all
fail the check. A record that fails is reported once by its reader and treated as missing.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from synthgen.errors import CacheError

HASH_KEY = "content_hash"


class DamagedRecord(CacheError):
    """A record is unreadable, or its content does not match its hash."""


def seal(value: dict[str, Any], where: str, indent: int | None = None) -> bytes:
    """The bytes of ``value`` stored at ``where``, with its content hash.

    Args:
        value: a dict without a ``content_hash`` key (a value JSON cannot hold is written as its ``repr``).
        where: what names the record (``"requests/<key>"``, ``"batch_manager.json"``).
        indent: for records people read.

    Returns:
        UTF-8 JSON (lone surrogates in text are kept as they are: ``surrogatepass``).
    """
    sealed = {**value, HASH_KEY: content_hash(value, where)}
    return json.dumps(sealed, ensure_ascii=False, indent=indent, default=repr).encode("utf-8", "surrogatepass")


def unseal(data: bytes, where: str) -> dict[str, Any]:
    """The record in ``data`` when its hash checks.

    Raises:
        DamagedRecord: not a JSON object, no hash (written by an older synthgen), or a hash mismatch.
    """
    try:
        value = json.loads(data.decode("utf-8", "surrogatepass"))
    except (ValueError, UnicodeDecodeError):
        raise DamagedRecord(f"cache record {where} is not valid JSON (truncated or damaged)") from None
    if not isinstance(value, dict) or not isinstance(value.get(HASH_KEY), str):
        raise DamagedRecord(f"cache record {where} has no content hash (damaged, or written by an older synthgen)")
    stored = value.pop(HASH_KEY)
    try:
        expected = content_hash(value, where)
    except (TypeError, ValueError):
        expected = ""
    if stored != expected:
        raise DamagedRecord(f"cache record {where} does not match its content hash (modified or damaged)")
    return value


def content_hash(value: dict[str, Any], where: str) -> str:
    """blake2b of ``where`` and the canonical JSON of ``value`` (sorted keys, no spaces)."""
    canonical = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=repr)
    return hashlib.blake2b(f"{where}\n{canonical}".encode("utf-8", "surrogatepass"), digest_size=20).hexdigest()
