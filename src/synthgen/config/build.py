"""Build a :class:`~synthgen.pipeline.Pipeline` from plain data: the config layer's entry to
:mod:`synthgen.building` (which fills a pipeline; this module knows which class to make)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from synthgen.building import build_llm, build_step, describe_validation_error
from synthgen.pipeline import Pipeline

__all__ = ["build_llm", "build_pipeline", "build_step", "describe_validation_error"]


def build_pipeline(spec: Mapping[str, Any], cache_dir: str | None = None) -> Pipeline:
    """Turn a pipeline spec into a Pipeline (:meth:`Pipeline.from_dict`).

    Args:
        spec: ``{"name", "description", "steps": {name: {"type", <params>...}}, "connections"}``,
            or the whole ``pipeline.yaml`` document (``{"pipeline": {...}, "signature": ...}``).
        cache_dir: cache root for the pipeline (``None``: the default).

    Returns:
        The pipeline, with its steps constructed and connected.

    Raises:
        ConfigError: a step or LLM parameter is missing, unknown or of the wrong type.
        RegistryError: a step or LLM type is not registered and has no importable ``class``.
        PlanError: a connection names an unknown step.
    """
    return Pipeline.from_dict(dict(spec), cache_dir)
