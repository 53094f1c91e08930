"""YAML in and out through libyaml when PyYAML has it: pipeline.yaml holds the whole pipeline, inline
datasets included, and the pure-Python parser takes seconds where libyaml takes milliseconds."""

from __future__ import annotations

from pathlib import Path
from typing import IO, Any

import yaml

from synthgen.errors import ConfigError

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_Dumper: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def load_yaml(stream: str | bytes | IO[Any]) -> Any:
    """``yaml.safe_load``, faster."""
    if not isinstance(stream, (str, bytes)):
        stream = stream.read()
    try:
        return yaml.load(stream, Loader=_Loader)  # noqa: S506 - a safe loader
    except yaml.YAMLError:
        text = stream.decode("utf-8", "replace") if isinstance(stream, bytes) else stream
        if "\\u" not in text:
            raise
        # libyaml refuses the \\u escape of a lone surrogate (see dump_yaml); PyYAML's own parser reads it.
        return yaml.load(text, Loader=yaml.SafeLoader)  # noqa: S506 - a safe loader


def dump_yaml(data: Any, stream: IO[Any] | None = None, sort_keys: bool = False) -> Any:
    """``yaml.safe_dump`` keeping key order and unicode, faster; the text when ``stream`` is ``None``.

    Text that UTF-8 cannot hold (a lone surrogate in an inline dataset) is written with ``\\u``
    escapes instead, which load back to the same string.
    """
    try:
        text = yaml.dump(data, Dumper=_Dumper, sort_keys=sort_keys, allow_unicode=True)
        text.encode()
    except UnicodeEncodeError:
        text = yaml.dump(data, Dumper=yaml.SafeDumper, sort_keys=sort_keys, allow_unicode=False)
    if stream is None:
        return text
    stream.write(text)
    return None


def load_yaml_file(path: Path) -> Any:
    """The YAML document in ``path``.

    Raises:
        ConfigError: the file is not valid YAML; the message starts ``path:line:column:``.
    """
    try:
        return load_yaml(path.read_text())
    except yaml.YAMLError as exc:
        raise ConfigError(f"{yaml_error_where(path, exc)}: invalid YAML: {yaml_problem(exc)}") from None


def yaml_error_where(path: Path | str, exc: yaml.YAMLError) -> str:
    """``path:line:column`` of a YAML error (1-based, as editors count), or ``path`` when unknown."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    return f"{path}:{mark.line + 1}:{mark.column + 1}" if mark is not None else str(path)


def yaml_problem(exc: yaml.YAMLError) -> str:
    """What the parser found wrong, in one line (``mapping values are not allowed here``)."""
    problem = getattr(exc, "problem", None)
    context = getattr(exc, "context", None)
    text = " ".join(str(p) for p in (context, problem) if p) or str(exc).splitlines()[0]
    return text
