"""Plugins: pluggy hooks, the per-process plugin manager and the registry of named classes.

A third-party package adds steps, LLM backends, config folders or lifecycle hooks by declaring an
entry point in the ``synthgen`` group that names a module with :data:`hookimpl` functions; synthgen's
own steps and backends register through the very same hooks (``BUILTIN_PLUGINS``).
"""

from __future__ import annotations

from synthgen.plugins.describe import describe_plugins, render_plugins_table
from synthgen.plugins.hookspecs import hookimpl, hookspec
from synthgen.plugins.manager import (
    BUILTIN_PLUGINS,
    DISABLE_ENV,
    ENTRY_POINT_GROUP,
    fire,
    get_plugin_manager,
    get_registry,
    hook,
    reset_plugin_manager,
)
from synthgen.plugins.registry import Entry, Registrar, Registry

__all__ = [
    "BUILTIN_PLUGINS",
    "DISABLE_ENV",
    "ENTRY_POINT_GROUP",
    "Entry",
    "Registrar",
    "Registry",
    "describe_plugins",
    "fire",
    "get_plugin_manager",
    "get_registry",
    "hook",
    "hookimpl",
    "hookspec",
    "render_plugins_table",
    "reset_plugin_manager",
]
