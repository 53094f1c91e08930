"""YAML in and out through libyaml when PyYAML has it: pipeline.yaml holds the whole pipeline, inline
datasets included, and the pure-Python parser takes seconds where libyaml takes milliseconds."""

from __future__ import annotations

from typing import IO, Any

import yaml

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_Dumper: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def load_yaml(stream: str | bytes | IO[Any]) -> Any:
    """``yaml.safe_load``, faster."""
    return yaml.load(stream, Loader=_Loader)  # noqa: S506 - a safe loader


def dump_yaml(data: Any, stream: IO[Any] | None = None, sort_keys: bool = False) -> Any:
    """``yaml.safe_dump`` keeping key order and unicode, faster; the text when ``stream`` is ``None``."""
    return yaml.dump(data, stream, Dumper=_Dumper, sort_keys=sort_keys, allow_unicode=True)
