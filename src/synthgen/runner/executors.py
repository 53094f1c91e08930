"""Executors by name: where step replicas run (``runner="local"``, ``runner: {type: ray}``).

Each executor is an :class:`ExecutorSpec` in one table, the built-ins included: choosing one is a
look-up, never an if/else, and a third executor is one more spec (:func:`register_executor`). The class
is named by ``"module:Class"`` and imported only when chosen, so Ray is imported only by a Ray run.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from synthgen.errors import ConfigError

if TYPE_CHECKING:
    from synthgen.runner.loop import Executor


@dataclass(frozen=True)
class ExecutorSpec:
    """One executor: its name, its class and the options a user may give it.

    ``factory`` is called as ``factory(store_root, log_level, **options)`` and returns an
    :class:`~synthgen.runner.loop.Executor`. ``local_gpus``: the runner itself gives each replica
    devices of this machine (``CUDA_VISIBLE_DEVICES``); otherwise a cluster scheduler places the
    replicas, and the executor's ``cluster_gpus()`` says how many GPUs the plan may use.
    """

    name: str
    factory: str
    options: frozenset[str] = frozenset()
    local_gpus: bool = False

    def load(self) -> Any:
        """The factory, imported now."""
        module_name, _, attr = self.factory.partition(":")
        return getattr(importlib.import_module(module_name), attr)


BUILTIN_EXECUTORS: tuple[ExecutorSpec, ...] = (
    ExecutorSpec("local", "synthgen.runner.local:LocalExecutor", local_gpus=True),
    ExecutorSpec("ray", "synthgen.runner.ray_executor:RayExecutor", frozenset({"address", "num_cpus"})),
)

_executors: dict[str, ExecutorSpec] = {spec.name: spec for spec in BUILTIN_EXECUTORS}


def register_executor(spec: ExecutorSpec) -> None:
    """Make ``spec.name`` a runner that pipelines can name.

    Raises:
        ConfigError: the name is taken.
    """
    if spec.name in _executors:
        raise ConfigError(f"runner '{spec.name}' is registered already ({_executors[spec.name].factory}): "
                          "register the new executor under another name")
    _executors[spec.name] = spec


def executor_names() -> list[str]:
    """The runners that can be named, in registration order."""
    return list(_executors)


def executor_spec(name: str) -> ExecutorSpec:
    """The executor registered as ``name``.

    Raises:
        ConfigError: no executor has that name (the message lists the known ones).
    """
    spec = _executors.get(name)
    if spec is None:
        raise ConfigError(f"unknown runner '{name}': the runners are {_quoted_list(executor_names())}")
    return spec


def uses_local_gpus(name: str) -> bool:
    """Whether the runner ``name`` gives replicas this machine's GPUs (an unknown one does not)."""
    spec = _executors.get(name)
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
