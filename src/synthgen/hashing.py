"""Stable hashes of plain values: the same on every machine, in every process and Python version.

It sits at the bottom of the layers (it imports nothing of synthgen) because the planner's cache keys
and the LLM request keys are both made with it.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any


def stable_hash(value: Any) -> str:
    """SHA-256 of canonical JSON: the same on every machine and in every process."""
    data = json.dumps(value, sort_keys=True, separators=(",", ":"), default=repr, ensure_ascii=False)
    # surrogatepass: text with a lone surrogate hashes too (and every other text exactly as before).
    return hashlib.sha256(data.encode("utf-8", "surrogatepass")).hexdigest()
