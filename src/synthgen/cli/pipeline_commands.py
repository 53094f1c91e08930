"""``synthgen pipeline run|info|draw --config pipeline.yaml [--param step.key=value ...]``."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from synthgen.errors import ConfigError
from synthgen.pipeline import Pipeline
from synthgen.yaml_io import load_yaml_file


def load_spec(path: str | Path) -> dict[str, Any]:
    """Read a pipeline.yaml (the whole recorded document or just its ``pipeline:`` body).

    Raises:
        ConfigError: the file is missing, is not YAML or has no ``steps``.
    """
    file = Path(path)
    if not file.is_file():
        raise ConfigError(f"pipeline config '{file}' does not exist: pass the path of a pipeline.yaml to --config")
    data = load_yaml_file(file)
    body = data.get("pipeline", data) if isinstance(data, dict) else None
    if not isinstance(body, dict) or "steps" not in body:
        raise ConfigError(f"pipeline config '{file}' has no `steps:`; expected a pipeline.yaml written by synthgen")
    return data


def build(args: argparse.Namespace) -> tuple[Pipeline, dict[str, Any]]:
    """The pipeline of ``--config`` with the ``--param`` overrides applied, checked by the planner."""
    from synthgen import plan
    from synthgen.config.build import build_pipeline
    from synthgen.config.params import apply_params

    spec = apply_params(load_spec(args.config), args.param)
    body = spec.get("pipeline", spec)
    pipeline = build_pipeline(body, cache_dir=args.cache_dir)
    plan.validate(pipeline.graph())
    if not args.param:
        _warn_if_signature_changed(pipeline, spec)
    return pipeline, body


def _warn_if_signature_changed(pipeline: Pipeline, spec: dict[str, Any]) -> None:
    # A step's `version` bump changes the signature legitimately; say so rather than fail.
    recorded = spec.get("aggregated_steps_signature")
    if recorded and recorded != pipeline.aggregated_steps_signature:
        from loguru import logger

        logger.warning("the rebuilt pipeline's signature differs from the recorded one (a step's code or "
                       "version changed?): changed steps will be recomputed")


def run(args: argparse.Namespace) -> int:
    """Rerun the pipeline and save its Distiset under ``--output-dir``."""
    from synthgen.config.execute import execute

    pipeline, body = build(args)
    out_dir = Path(args.output_dir or Path("outputs") / time.strftime("%Y-%m-%d/%H-%M-%S"))
    report = execute(pipeline, out_dir=out_dir, use_cache=not args.no_cache, load_groups=body.get("load_groups"),
                     runner=args.runner, runner_options={"address": args.ray_address} if args.ray_address else None,
                     retry_failed=not args.no_retry_failed, max_failed_fraction=args.max_failed_fraction)
    print(report.render())
    if report.too_many_failed is not None:
        raise report.too_many_failed
    return report.exit_code


def info(args: argparse.Namespace) -> int:
    """Print steps, connections, load stages, runtime parameters and cache status."""
    pipeline, body = build(args)
    print(render_info(pipeline, body.get("load_groups"), args.cache_dir))
    return 0


def render_info(pipeline: Pipeline, load_groups: Any = None, cache_dir: str | None = None) -> str:
    """The text of ``synthgen pipeline info``."""
    status = _cache_status(pipeline, cache_dir)
    lines = [f"pipeline: {pipeline.name}", f"signature: {pipeline.aggregated_steps_signature[:16]}", "steps:"]
    for name, step in pipeline.steps.items():
        extra = f"  [{status[name]}]" if name in status else ""
        lines.append(f"  {name} ({type(step).registered_name()}){extra}")
        lines += [f"      {key} = {value!r}" for key, value in _flatten(step.runtime_parameters())]
    lines.append("connections:")
    lines += [f"  {a} -> {b}" for a, b in pipeline.edges]
    stages, _ = pipeline.get_load_stages(load_groups)
    lines.append("load stages:")
    lines += [f"  {i}: {', '.join(stage)}" for i, stage in enumerate(stages)]
    return "\n".join(lines)


def _flatten(params: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for key, value in params.items():
        if isinstance(value, dict) and value and key != "generation_kwargs":
            out += _flatten(value, f"{prefix}{key}.")
        else:
            out.append((f"{prefix}{key}", value))
    return out


def _cache_status(pipeline: Pipeline, cache_dir: str | None) -> dict[str, str]:
    from synthgen.runner.cache_commands import step_status

    return step_status(pipeline, cache_dir)


def draw(args: argparse.Namespace) -> int:
    """Write the DAG as Mermaid to stdout or ``--output`` (PNG/SVG through graphviz)."""
    from synthgen.cli.drawing import write_drawing

    pipeline, _ = build(args)
    message = write_drawing(pipeline, args.output)
    if message:
        print(message)
    return 0
