"""Pipeline files: ``Pipeline.save`` writes :meth:`Pipeline.dump` as YAML or JSON, ``read_pipeline`` reads it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from synthgen.errors import ConfigError
from synthgen.yaml_io import dump_yaml, load_yaml

FORMATS = ("yaml", "json")


def save_pipeline(dump: dict[str, Any], path: str | Path, format: str) -> None:
    """Write ``dump`` to ``path`` in ``format``, creating its folder.

    Raises:
        ConfigError: an unknown format.
    """
    check_format(format)
    text = dump_yaml(dump) if format == "yaml" else json.dumps(dump, indent=2)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(text, encoding="utf-8")


def read_pipeline(path: str | Path, format: str) -> dict[str, Any]:
    """The plain data of a saved pipeline.

    Raises:
        ConfigError: the file is missing, not valid YAML/JSON, or holds no pipeline.
    """
    check_format(format)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read pipeline file '{path}': {exc.strerror or exc}") from None
    try:
        data = load_yaml(text) if format == "yaml" else json.loads(text)
    except (ValueError, yaml.YAMLError) as exc:  # JSONDecodeError is a ValueError
        raise ConfigError(f"pipeline file '{path}' is not valid {format.upper()}: {exc}") from None
    body = data.get("pipeline", data) if isinstance(data, dict) else None
    if not isinstance(body, dict) or not isinstance(body.get("steps"), dict):
        raise ConfigError(f"pipeline file '{path}' has no `steps:`; expected a file written by Pipeline.save")
    return data


def check_format(format: str) -> None:
    """Raises ConfigError for a format other than yaml or json."""
    if format not in FORMATS:
        raise ConfigError(f"unknown pipeline file format '{format}': use 'yaml' or 'json'")
