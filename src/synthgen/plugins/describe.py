"""What ``synthgen plugins`` prints: each plugin, its version, hooks and what it registers."""

from __future__ import annotations

import io
from importlib import metadata
from typing import Any

import pluggy

from synthgen.plugins.manager import get_plugin_manager, get_registry


def describe_plugins() -> list[dict[str, Any]]:
    """One dict per active plugin, built-ins first.

    Returns:
        Dicts with ``name``, ``package``, ``version``, ``hooks`` (hook names it implements),
        ``steps``, ``llms``, ``executors`` and ``config_paths`` (what it registered).
    """
    pm = get_plugin_manager()
    registry = get_registry()
    dists = {id(plugin): dist for plugin, dist in pm.list_plugin_distinfo()}
    return [
        {"name": name, **_package(dists.get(id(plugin))), "hooks": _hooks(pm, plugin),
         **registry.registered_by(name)}
        for name, plugin in pm.list_name_plugin()
    ]


def _package(dist: Any) -> dict[str, str]:
    if dist is not None:  # an entry-point plugin: pluggy knows its distribution
        return {"package": dist.project_name, "version": dist.version}
    try:
        version = metadata.version("synthgen")
    except metadata.PackageNotFoundError:
        version = "unknown"
    return {"package": "synthgen", "version": version}


def _hooks(pm: pluggy.PluginManager, plugin: object) -> list[str]:
    return sorted(caller.name for caller in pm.get_hookcallers(plugin) or [])


def render_plugins_table(plain: bool = False) -> str:
    """The plugin table that ``synthgen plugins`` prints.

    Args:
        plain: tab-separated lines instead of a rich table (for scripts and tests).

    Returns:
        The rendered table, ending with a newline.
    """
    rows = [_row(info) for info in describe_plugins()]
    header = ("plugin", "package", "version", "registers", "hooks")
    if plain:
        return "".join("\t".join(cells) + "\n" for cells in (header, *rows))
    from rich.console import Console
    from rich.table import Table

    table = Table(*header, title="synthgen plugins")
    for cells in rows:
        table.add_row(*cells)
    out = io.StringIO()
    Console(file=out, width=160, no_color=True).print(table)
    return out.getvalue()


def _row(info: dict[str, Any]) -> tuple[str, str, str, str, str]:
    parts = [f"{kind}: {', '.join(info[kind])}" for kind in ("steps", "llms", "executors", "config_paths")
             if info[kind]]
    return (info["name"], info["package"], info["version"], "; ".join(parts) or "-", ", ".join(info["hooks"]))
