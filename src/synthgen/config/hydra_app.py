"""The Hydra front door: ``python -m synthgen [overrides]`` and ``synthgen run [overrides]``.

Composes ``conf/`` (plus the config folders that plugins register), turns the result into a plain
pipeline spec, builds it through the registry and runs it. Only this package imports Hydra.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, cast

import yaml
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from synthgen.config import failures
from synthgen.config.loaders import retarget_loaders
from synthgen.config.paths import conf_dir, data_file
from synthgen.config.resources import apply_resources
from synthgen.config.schema import register_configs
from synthgen.errors import ConfigError
from synthgen.yaml_io import yaml_error_where, yaml_problem


def register() -> None:
    """Store the schemas and register the ``synthgen_data`` resolver (idempotent)."""
    register_configs()
    OmegaConf.register_new_resolver("synthgen_data", data_file, replace=True)


def plugin_search_paths() -> list[str]:
    """Config folders registered by plugins (``pkg://...`` or ``file://...``)."""
    from synthgen.plugins import get_registry

    return list(get_registry().config_paths)


def searchpath_override(argv: Sequence[str]) -> list[str]:
    """A ``hydra.searchpath=[...]`` override adding the plugins' config folders, unless the user set one."""
    if any(a.lstrip("+~").startswith("hydra.searchpath") for a in argv):
        return []
    paths = plugin_search_paths()
    return [f"hydra.searchpath=[{','.join(repr(p) for p in paths)}]"] if paths else []


def compose(overrides: Sequence[str] = (), config_name: str = "config") -> DictConfig:
    """Compose the config as ``python -m synthgen`` would, without running anything (tests, tools).

    Raises:
        hydra.errors.HydraException: the overrides or config files are invalid.
    """
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir

    register()
    with initialize_config_dir(config_dir=str(conf_dir()), version_base=None):
        return hydra_compose(config_name, overrides=[*overrides, *searchpath_override(overrides)])


def to_spec(cfg: DictConfig) -> dict[str, Any]:
    """The resolved pipeline of ``cfg`` as plain data, with the ``resources`` group applied.

    A step's ``llm`` mapping without a ``type`` refines the ``llm`` group rather than replacing it,
    so ``pipeline.steps.judge.llm={model: gpt-4o}`` puts only the judge on another model.

    Raises:
        ConfigError: an interpolation cannot be resolved (e.g. a missing bundled data file).
    """
    try:
        spec = OmegaConf.to_container(cfg.pipeline, resolve=True, throw_on_missing=True)
        resources = OmegaConf.to_container(cfg.resources, resolve=True)
        group_llm = OmegaConf.to_container(cfg.llm, resolve=True)
    except OmegaConfBaseException as exc:
        cause = exc.__cause__ if isinstance(exc.__cause__, ConfigError) else None
        raise ConfigError(str(cause) if cause else f"invalid config: {_first_line(exc)}") from None
    spec = refine_step_llms(cast("dict[str, Any]", spec), cast("dict[str, Any]", group_llm))
    return apply_resources(retarget_loaders(spec), cast("dict[str, Any]", resources))


def refine_step_llms(spec: dict[str, Any], group_llm: dict[str, Any]) -> dict[str, Any]:
    """Merge each step's type-less ``llm`` mapping over the ``llm`` group (in place; returns ``spec``)."""
    for params in (spec.get("steps") or {}).values():
        for key, value in list(params.items()):
            if (key == "llm" or key.endswith("_llm")) and isinstance(value, dict) and "type" not in value:
                params[key] = _deep_merge(group_llm, value)
    return spec


def _deep_merge(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in update.items():
        both_dicts = isinstance(value, dict) and isinstance(out.get(key), dict)
        out[key] = _deep_merge(out[key], value) if both_dicts else value
    return out


def run_config(cfg: DictConfig, out_dir: Path) -> int:
    """Build and run the composed pipeline; print where the dataset went and a summary.

    Returns:
        The exit code: 0, or 4 when rows failed (the dataset is written all the same).
    """
    from synthgen.config.build import build_pipeline
    from synthgen.config.execute import execute

    spec = to_spec(cfg)
    pipeline = build_pipeline(spec, cache_dir=cfg.cache_dir)
    report = execute(
        pipeline, out_dir=out_dir, save_dir=Path(cfg.save_dir) if cfg.save_dir else None,
        use_cache=cfg.use_cache, load_groups=spec.get("load_groups"), runner=cfg.runner.type,
        runner_options={k: v for k, v in cfg.runner.items() if k != "type"},
        retry_failed=cfg.retry_failed, max_failed_fraction=cfg.max_failed_fraction,
    )
    print(report.render(), flush=True)
    if report.too_many_failed is not None:
        raise report.too_many_failed
    return report.exit_code


def job_log_file(hydra_cfg: Any) -> Path:
    """The log file Hydra opened for this job (``<output dir>/<job name>.log`` by default)."""
    handler = OmegaConf.select(hydra_cfg, "job_logging.handlers.file.filename")
    return Path(handler) if handler else Path(hydra_cfg.runtime.output_dir) / f"{hydra_cfg.job.name}.log"


def _task(cfg: DictConfig) -> None:
    from hydra.core.hydra_config import HydraConfig

    from synthgen.logging import log_to_file

    hydra_cfg = HydraConfig.get()
    try:
        # synthgen logs through loguru, which Hydra's logging handlers never see: copy them to its file.
        with log_to_file(job_log_file(hydra_cfg)):
            code = run_config(cfg, Path(hydra_cfg.runtime.output_dir))
    except (Exception, KeyboardInterrupt) as exc:
        if not failures.handled(exc):
            raise
        raise SystemExit(failures.report(exc)) from None
    if code:
        raise SystemExit(code)


def check_command_line(argv: Sequence[str]) -> None:
    """Compose the config of ``argv`` once (a sweep's first values), so that a bad override is one line.

    Raises:
        UsageError: an override cannot be parsed, names an unknown option or key, or has a bad value.
        ConfigError: a config file is not valid YAML (the message starts ``file:line:column:``).
    """
    from hydra.errors import HydraException

    from synthgen.config.hydra_errors import checkable_overrides, usage_error

    for overrides in checkable_overrides(argv) or []:
        try:
            compose(overrides)
        except HydraException as exc:
            raise usage_error(exc, _composer_without(overrides)) from None
        except yaml.YAMLError as exc:  # a config file of conf/, a plugin's or the search path's
            mark = getattr(exc, "problem_mark", None)
            where = yaml_error_where(mark.name if mark is not None else "a config file", exc)
            raise ConfigError(f"{where}: invalid YAML: {yaml_problem(exc)}") from None


def _composer_without(overrides: list[str]) -> Callable[[str], DictConfig]:
    def without(full_key: str) -> DictConfig:
        return compose([o for o in overrides if o.lstrip("+~").split("=")[0] != full_key])

    return without


def hydra_main(argv: Sequence[str], prog: str = "synthgen") -> None:
    """Run the Hydra app with ``argv`` (overrides, ``-m``, ``--help``, ``--cfg job``, ...)."""
    import hydra

    register()
    if failures.debug_enabled():
        os.environ.setdefault("HYDRA_FULL_ERROR", "1")
    else:
        try:
            check_command_line(argv)
        except ConfigError as exc:
            raise SystemExit(failures.report(exc)) from None
    sys.argv = [prog, *argv, *searchpath_override(argv)]
    app = hydra.main(config_path=str(conf_dir()), config_name="config", version_base=None)(_task)
    app()


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
