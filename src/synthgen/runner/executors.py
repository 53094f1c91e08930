"""Executors by name: where step replicas run (``runner="local"``, ``runner: {type: ray}``).

Executors are registered like steps and LLMs, through a plugin hook (``synthgen_register_executors``;
the built-in ``local`` and ``ray`` in :mod:`synthgen.plugins.builtin.executors`): choosing one is a
look-up in the registry, never an if/else. The class is named by ``"module:Class"`` and imported only
when chosen, so Ray is imported only by a Ray run.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from synthgen.errors import ConfigError, RegistryError
from synthgen.plugins import get_registry
from synthgen.plugins.registry import ExecutorSpec

if TYPE_CHECKING:
    from synthgen.runner.loop import Executor

__all__ = ["ExecutorSpec", "executor_names", "executor_spec", "make_executor", "register_executor", "uses_local_gpus"]


def register_executor(spec: ExecutorSpec) -> None:
    """Make ``spec.name`` a runner that pipelines can name, from a script (a plugin package uses the
    ``synthgen_register_executors`` hook, which also survives a rebuild of the registry).

    Raises:
        ConfigError: the name is taken.
    """
    try:
        get_registry().add_executor(spec)
    except RegistryError as exc:
        raise ConfigError(str(exc)) from None


def executor_names() -> list[str]:
    """The runners that can be named, in registration order."""
    return list(get_registry().executors)


def executor_spec(name: str) -> ExecutorSpec:
    """The executor registered as ``name``.

    Raises:
        ConfigError: no executor has that name (the message lists the known ones).
    """
    spec = get_registry().executors.get(name)
    if spec is None:
        raise ConfigError(f"unknown runner '{name}': the runners are {_quoted_list(executor_names())}")
    return spec


def uses_local_gpus(name: str) -> bool:
    """Whether the runner ``name`` gives replicas this machine's GPUs (an unknown one does not)."""
    spec = get_registry().executors.get(name)
    return spec is not None and spec.local_gpus


def make_executor(runner: str, store_root: str, log_level: str, options: Mapping[str, Any] | None = None) -> Executor:
    """The executor for ``runner``; ``options`` are its settings (Ray: ``address``, ``num_cpus``; a
    ``None`` value is no setting).

    Raises:
        ConfigError: an unknown runner or option.
    """
    spec = executor_spec(runner)
    given = {k: v for k, v in (options or {}).items() if v is not None}
    unknown = sorted(set(given) - spec.options)
    if unknown:
        valid = ", ".join(sorted(spec.options)) or "none"
        raise ConfigError(f"runner '{runner}' has no option {unknown[0]!r}. Its options: {valid}")
    executor: Executor = spec.load()(store_root, log_level, **given)
    return executor


def _quoted_list(names: list[str]) -> str:
    """``'a'``, ``'a' and 'b'``, ``'a', 'b' and 'c'``."""
    quoted = [f"'{n}'" for n in names]
    return quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} and {quoted[-1]}"
