"""Apply the ``resources`` group (replicas, GPUs) to the steps of a plain pipeline spec."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from synthgen.errors import ConfigError, did_you_mean


def apply_resources(spec: Mapping[str, Any], resources: Mapping[str, Any]) -> dict[str, Any]:
    """Return a copy of ``spec`` whose steps carry ``resources`` from the group.

    Precedence, lowest first: the group's ``llm_steps`` / ``other_steps`` defaults, the step's own
    ``resources:`` in the pipeline YAML, then the group's ``steps.<name>`` entry.

    Raises:
        ConfigError: ``resources.steps`` names a step the pipeline does not have.
    """
    out = copy.deepcopy(dict(spec))
    steps: dict[str, Any] = out.get("steps") or {}
    per_step = dict(resources.get("steps") or {})
    for name in per_step:
        if name not in steps:
            raise ConfigError(
                f"resources.steps names unknown step '{name}'{did_you_mean(name, steps)} Steps: {', '.join(steps)}"
            )
    for name, params in steps.items():
        kind = "llm_steps" if _has_llm(params) else "other_steps"
        merged = {**_set(resources.get(kind)), **(params.get("resources") or {}), **_set(per_step.get(name))}
        params["resources"] = merged
    return out


def _has_llm(params: Mapping[str, Any]) -> bool:
    return any((k == "llm" or k.endswith("_llm") or k == "llms") and v for k, v in params.items())


def _set(values: Mapping[str, Any] | None) -> dict[str, Any]:
    return {k: v for k, v in (values or {}).items() if v is not None}
