"""synthgen's own steps, tasks and LLM backends, registered through the public hooks.

Each module here is a plugin listed in ``synthgen.plugins.manager.BUILTIN_PLUGINS``. Classes are
registered by ``module:Class`` path under an explicit name, so nothing is imported until a config
names it, and the names that configs rely on are written down in one place.
"""
