"""The registry: registered names -> step and LLM classes and executors, plus plugin config folders.

Configs name steps and backends (``type: text_generation``), never import paths, so refactors do not
break them. A class may be registered as a ``"module:Class"`` string: it is imported only when its
name is looked up, which keeps ``synthgen plugins`` and start-up free of heavy imports.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from typing import Any, Literal

from synthgen.errors import RegistryError, unknown_name
from synthgen.steps.base import snake_case

Kind = Literal["step", "llm"]
DIRECT = "<direct>"
"""Owner recorded for classes added straight to the registry rather than through a hook."""


@dataclass(frozen=True)
class Entry:
    """One registered name: what it points to and which plugin registered it."""

    kind: Kind
    name: str
    target: type | str
    plugin: str

    @property
    def path(self) -> str:
        """``module:Class`` of the target, without importing it."""
        if isinstance(self.target, str):
            return self.target
        return f"{self.target.__module__}:{self.target.__qualname__}"

    def load(self) -> type:
        """The registered class, imported on first use when registered by path."""
        if not isinstance(self.target, str):
            return self.target
        module_name, _, attr = self.target.partition(":")
        try:
            return getattr(importlib.import_module(module_name), attr)  # type: ignore[no-any-return]
        except (ImportError, AttributeError) as exc:
            raise RegistryError(
                f"{self.kind} '{self.name}' registered by plugin '{self.plugin}' points to "
                f"'{self.target}', which cannot be imported ({exc}): fix or disable that plugin "
                "with SYNTHGEN_DISABLE_PLUGINS"
            ) from exc


@dataclass(frozen=True)
class ExecutorSpec:
    """One executor (``runner="local"``, ``runner: {type: ray}``): its name, its class and the options a
    user may give it.

    ``factory`` (``"module:Class"``, imported only when the runner is chosen, so Ray is imported only by
    a Ray run) is called as ``factory(store_root, log_level, **options)`` and returns a
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


@dataclass(frozen=True)
class ConfigPath:
    """A config search path a plugin added, e.g. ``pkg://synthgen_reverse.conf``."""

    path: str
    plugin: str


def default_name(target: type | str) -> str:
    """A class's ``registered_name()``, else the snake_case of its name (also for ``module:Class``)."""
    if isinstance(target, str):
        return snake_case(target.rpartition(":")[2])
    registered = getattr(target, "registered_name", None)
    return registered() if callable(registered) else snake_case(target.__name__)


_NAME = re.compile(r"[A-Za-z_][\w.-]*")
_PATH = re.compile(r"[A-Za-z_][\w.]*:[A-Za-z_][\w.]*")


def check_arguments(kind: Kind, cls: Any, name: Any, plugin: str) -> None:
    """Reject a wrong ``add_step``/``add_llm`` call at registration, in one line (naming a swap of the
    two arguments), rather than as a raw TypeError when ``synthgen plugins`` lists it later.

    Raises:
        RegistryError: ``cls`` is neither a class of this kind nor ``"module:Class"``, or ``name`` is not a name.
    """
    call = f"plugin '{plugin}': register.add_{kind}(cls, name=None)"
    bases = _bases_of(kind)
    if not (_PATH.fullmatch(cls) if isinstance(cls, str) else isinstance(cls, type) and issubclass(cls, bases)):
        swap = f"; did you swap them? Call register.add_{kind}({name.__name__}, {cls!r})" if isinstance(name, type) else ""
        raise RegistryError(f"{call}: cls must be a subclass of {bases[0].__name__} or 'module:Class', got {cls!r}{swap}")
    if name is not None and not (isinstance(name, str) and _NAME.fullmatch(name)):
        raise RegistryError(f"{call}: name must be a name like 'my_{kind}' (letters, digits, _ . -), got {name!r}")


def _bases_of(kind: Kind) -> tuple[type, ...]:
    if kind == "llm":
        from synthgen.llms.base import LLM

        return (LLM,)
    from synthgen.steps.base import GeneratorStep, Step

    return (Step, GeneratorStep)


class Registry:
    """Registered steps and LLM backends of this process, with who registered each."""

    def __init__(self) -> None:
        self._entries: dict[Kind, dict[str, Entry]] = {"step": {}, "llm": {}}
        self._executors: dict[str, tuple[ExecutorSpec, str]] = {}  # name -> (spec, plugin)
        self._config_paths: list[ConfigPath] = []

    # ---- adding ----------------------------------------------------------------------------
    def add_step(self, cls: type | str, name: str | None = None, *, plugin: str = DIRECT) -> None:
        """Register a step (or task) class.

        Args:
            cls: the class, or ``"module:Class"`` to import it only when looked up.
            name: the registered name; defaults to ``cls.registered_name()``.
            plugin: the owner recorded for ``synthgen plugins`` and error messages.

        Raises:
            RegistryError: the name is already registered, or an argument is not what is expected.
        """
        check_arguments("step", cls, name, plugin)
        self._add(Entry("step", name or default_name(cls), cls, plugin))

    def add_llm(self, cls: type | str, name: str | None = None, *, plugin: str = DIRECT) -> None:
        """Register an LLM backend class; arguments as :meth:`add_step`."""
        check_arguments("llm", cls, name, plugin)
        self._add(Entry("llm", name or default_name(cls), cls, plugin))

    def add_executor(self, spec: ExecutorSpec, *, plugin: str = DIRECT) -> None:
        """Make ``spec.name`` a runner that pipelines can name.

        Raises:
            RegistryError: the name is taken, or the factory is not ``"module:Class"``.
        """
        if not (isinstance(spec.factory, str) and _PATH.fullmatch(spec.factory)):
            raise RegistryError(f"plugin '{plugin}': executor '{spec.name}' must name its class as 'module:Class', "
                                f"got {spec.factory!r}")
        existing = self._executors.get(spec.name)
        if existing is not None:
            raise RegistryError(
                f"runner '{spec.name}' is registered twice: by plugin '{existing[1]}' ({existing[0].factory}) and "
                f"by plugin '{plugin}' ({spec.factory}). Register the new executor under another name, or "
                "disable one plugin with SYNTHGEN_DISABLE_PLUGINS"
            )
        self._executors[spec.name] = (spec, plugin)

    def add_config_path(self, path: str, *, plugin: str = DIRECT) -> None:
        """Add a Hydra config search path (``pkg://package.conf`` or ``file:///folder``)."""
        if not any(c.path == path for c in self._config_paths):
            self._config_paths.append(ConfigPath(path, plugin))

    def _add(self, entry: Entry) -> None:
        existing = self._entries[entry.kind].get(entry.name)
        if existing is not None:
            raise RegistryError(
                f"{entry.kind} name '{entry.name}' is registered twice: by plugin '{existing.plugin}' "
                f"({existing.path}) and by plugin '{entry.plugin}' ({entry.path}). Pass another name= "
                "to add_" + entry.kind + "() or disable one plugin with SYNTHGEN_DISABLE_PLUGINS"
            )
        self._entries[entry.kind][entry.name] = entry

    # ---- looking up ------------------------------------------------------------------------
    def get_step(self, name: str) -> type:
        """The step class registered as ``name``.

        Raises:
            RegistryError: unknown name (the message lists the registered ones) or unimportable class.
        """
        return self.entry("step", name).load()

    def get_llm(self, name: str) -> type:
        """The LLM backend class registered as ``name``; raises as :meth:`get_step`."""
        return self.entry("llm", name).load()

    def entry(self, kind: Kind, name: str) -> Entry:
        """The :class:`Entry` for ``name``; an unknown name is a RegistryError with a "did you mean"."""
        entries = self._entries[kind]
        if name not in entries:
            label = "step type" if kind == "step" else "LLM backend"
            raise RegistryError(unknown_name(label, name, entries))
        return entries[name]

    @property
    def steps(self) -> dict[str, Entry]:
        """Registered step names -> entries (classes are not imported)."""
        return dict(self._entries["step"])

    @property
    def llms(self) -> dict[str, Entry]:
        """Registered LLM backend names -> entries (classes are not imported)."""
        return dict(self._entries["llm"])

    @property
    def executors(self) -> dict[str, ExecutorSpec]:
        """Registered runner names -> executors, in registration order (classes are not imported)."""
        return {name: spec for name, (spec, _) in self._executors.items()}

    @property
    def config_paths(self) -> list[str]:
        """Config search paths added by plugins, in registration order."""
        return [c.path for c in self._config_paths]

    def registered_by(self, plugin: str) -> dict[str, list[str]]:
        """What one plugin registered: ``{"steps": [...], "llms": [...], "executors": [...], "config_paths": [...]}``."""
        return {
            "steps": [e.name for e in self._entries["step"].values() if e.plugin == plugin],
            "llms": [e.name for e in self._entries["llm"].values() if e.plugin == plugin],
            "executors": [name for name, (_, owner) in self._executors.items() if owner == plugin],
            "config_paths": [c.path for c in self._config_paths if c.plugin == plugin],
        }

    def __reduce__(self) -> Any:
        # The registry holds this process's plugins; a worker builds its own from the entry points.
        raise RegistryError("the registry is per process and cannot be pickled: call get_registry() in the worker")


class Registrar:
    """What registration hooks receive: the registry, bound to the plugin that is registering."""

    def __init__(self, registry: Registry, plugin: str) -> None:
        self._registry = registry
        self.plugin = plugin

    def add_step(self, cls: type | str, name: str | None = None) -> None:
        """Register a step class; see :meth:`Registry.add_step`."""
        self._registry.add_step(cls, name, plugin=self.plugin)

    def add_llm(self, cls: type | str, name: str | None = None) -> None:
        """Register an LLM backend class; see :meth:`Registry.add_llm`."""
        self._registry.add_llm(cls, name, plugin=self.plugin)

    def add_executor(self, name: str, factory: str, options: tuple[str, ...] | frozenset[str] = (),
                     local_gpus: bool = False) -> None:
        """Register an executor under the runner name ``name``; see :class:`ExecutorSpec`."""
        self._registry.add_executor(ExecutorSpec(name, factory, frozenset(options), local_gpus), plugin=self.plugin)

    def add_config_path(self, path: str) -> None:
        """Add a Hydra config search path; see :meth:`Registry.add_config_path`."""
        self._registry.add_config_path(path, plugin=self.plugin)
