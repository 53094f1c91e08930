"""``--param step.key=value`` overrides for a recorded pipeline spec (plain dicts, no Hydra).

Values are parsed as YAML scalars (``0.9`` is a float, ``true`` a bool, ``null`` None, ``[a, b]`` a list),
and the dotted path reaches into nested parameters: ``gen.llm.generation_kwargs.temperature=0.9``.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any

import yaml

from synthgen.errors import UsageError, did_you_mean
from synthgen.yaml_io import yaml_problem


def parse_param(text: str) -> tuple[list[str], Any]:
    """Split ``"a.b.c=value"`` into ``(["a", "b", "c"], parsed value)``.

    Raises:
        UsageError: no ``=``, an empty key segment or a value that is not valid YAML.
    """
    key, sep, raw = text.partition("=")
    path = key.strip().split(".")
    if not sep or len(path) < 2 or not all(path):
        raise UsageError(
            f"bad --param '{text}': expected <step>.<key>[.<key>...]=<value>, "
            f"e.g. --param generate.llm.generation_kwargs.temperature=0.9"
        )
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at column {len(key) + 2 + mark.column}" if mark is not None and mark.line == 0 else ""
        raise UsageError(f"bad --param '{text}': the value is not valid YAML{where}: {yaml_problem(exc)}") from None
    return path, value


def apply_params(spec: Mapping[str, Any], params: Iterable[str]) -> dict[str, Any]:
    """Return a copy of the pipeline spec with each ``step.key=value`` override applied.

    Args:
        spec: a pipeline spec (``{"steps": ...}``) or a whole pipeline.yaml document.
        params: overrides like ``"gen.llm.generation_kwargs.temperature=0.9"``.

    Returns:
        The updated copy; the input is not modified.

    Raises:
        UsageError: a malformed override, an unknown step, or a path through a non-mapping value.
    """
    out = copy.deepcopy(dict(spec))
    body = out["pipeline"] if isinstance(out.get("pipeline"), dict) else out
    steps = body.setdefault("steps", {})
    for text in params:
        path, value = parse_param(text)
        if path[0] not in steps:
            raise UsageError(
                f"--param '{text}' names unknown step '{path[0]}'{did_you_mean(path[0], steps)} "
                f"Steps: {', '.join(steps)}"
            )
        _set_path(steps, path, value, text)
    return out


def _set_path(root: dict[str, Any], path: list[str], value: Any, text: str) -> None:
    node = root
    for i, part in enumerate(path[:-1]):
        child = node.get(part)
        if child is None:
            child = node[part] = {}
        if not isinstance(child, dict):
            where = ".".join(path[: i + 1])
            raise UsageError(f"--param '{text}': '{where}' is {child!r}, not a mapping, so it has no key '{path[i + 1]}'")
        node = child
    node[path[-1]] = value
