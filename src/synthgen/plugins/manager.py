"""The plugin manager and the registry, built on first use in each process.

Nothing here runs at import time and nothing here is pickled: a spawned worker builds its own manager
from the same entry points, so lifecycle hooks fire there too.
"""

from __future__ import annotations

import importlib
import os
from importlib import metadata
from typing import Any

import pluggy

from synthgen.errors import RegistryError
from synthgen.plugins import hookspecs
from synthgen.plugins.registry import Registrar, Registry

ENTRY_POINT_GROUP = "synthgen"
DISABLE_ENV = "SYNTHGEN_DISABLE_PLUGINS"

# The shipped steps, tasks, backends and executors: registered through the same hooks as third-party plugins.
BUILTIN_PLUGINS: tuple[str, ...] = (
    "synthgen.plugins.builtin.steps",
    "synthgen.plugins.builtin.tasks",
    "synthgen.plugins.builtin.llms",
    "synthgen.plugins.builtin.executors",
)

REGISTER_HOOKS = ("synthgen_register_steps", "synthgen_register_llms", "synthgen_register_executors",
                  "synthgen_register_configs")

_state: dict[str, Any] = {}


def disabled_plugins() -> set[str]:
    """Plugin names listed in ``$SYNTHGEN_DISABLE_PLUGINS`` (comma-separated)."""
    return {name.strip() for name in os.environ.get(DISABLE_ENV, "").split(",") if name.strip()}


def get_plugin_manager() -> pluggy.PluginManager:
    """This process's plugin manager: built-ins plus ``synthgen`` entry points, minus disabled ones.

    Returns:
        The manager, built on the first call in each process and cached afterwards.

    Raises:
        RegistryError: an entry-point plugin failed to import (the message names it).
    """
    if _state.get("pid") != os.getpid():  # a forked child must not reuse its parent's manager
        _state.clear()
        _state["pid"] = os.getpid()
        _state["pm"] = _build_plugin_manager()
    pm: pluggy.PluginManager = _state["pm"]
    return pm


def _build_plugin_manager() -> pluggy.PluginManager:
    pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    for name in disabled_plugins():
        pm.set_blocked(name)
    for module_name in BUILTIN_PLUGINS:
        if not pm.is_blocked(module_name):
            pm.register(importlib.import_module(module_name), name=module_name)
    _load_entry_points(pm)
    return pm


def _load_entry_points(pm: pluggy.PluginManager) -> None:
    try:
        pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
    except Exception as exc:
        name = _failing_entry_point(pm)
        raise RegistryError(
            f"plugin '{name}' (entry point group '{ENTRY_POINT_GROUP}') failed to load: "
            f"{type(exc).__name__}: {exc}. Fix or uninstall its package, or skip it with "
            f"{DISABLE_ENV}={name}"
        ) from exc


def _failing_entry_point(pm: pluggy.PluginManager) -> str:
    # pluggy does not say which entry point raised; find it so the message can name the plugin.
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        if pm.get_plugin(ep.name) is None and not pm.is_blocked(ep.name):
            try:
                ep.load()
            except Exception:
                return ep.name
    return "unknown"


def reset_plugin_manager() -> None:
    """Forget the manager and registry so the next call rebuilds them (tests, env var changes)."""
    _state.clear()


def hook() -> Any:
    """The hook relay: ``hook().synthgen_after_batch_written(step=..., batch=...)``."""
    return get_plugin_manager().hook


def fire(hook_name: str, **kwargs: Any) -> None:
    """Call the lifecycle hook ``hook_name`` of every plugin, in this process.

    The one way the runner fires hooks, in the main process and in step replicas alike.

    Args:
        hook_name: a lifecycle hook of :mod:`synthgen.plugins.hookspecs` (``synthgen_after_batch_written``).
        **kwargs: the hook's arguments, by name.
    """
    getattr(hook(), hook_name)(**kwargs)


def get_registry() -> Registry:
    """The registry filled by every plugin's ``synthgen_register_*`` hooks.

    Rebuilt when plugins were registered or unregistered since it was last built.

    Raises:
        RegistryError: two plugins registered the same name.
    """
    pm = get_plugin_manager()
    key = tuple((name, id(plugin)) for name, plugin in pm.list_name_plugin())
    if _state.get("registry_key") != key:
        _state["registry"] = _build_registry(pm)
        _state["registry_key"] = key
    registry: Registry = _state["registry"]
    return registry


def _build_registry(pm: pluggy.PluginManager) -> Registry:
    registry = Registry()
    for hook_name in REGISTER_HOOKS:
        # Call each implementation with a registrar bound to its plugin, so the registry knows who
        # registered what; pluggy's own call would hand every plugin the same anonymous object.
        for impl in getattr(pm.hook, hook_name).get_hookimpls():
            if impl.hookwrapper or impl.wrapper:
                continue
            given = {"register": Registrar(registry, impl.plugin_name)}
            impl.function(*(given[arg] for arg in impl.argnames))
    return registry
