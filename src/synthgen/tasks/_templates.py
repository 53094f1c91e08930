"""Load the tasks' Jinja2 prompt templates from package data.

Templates live in ``synthgen/tasks/templates/*.jinja2`` and are read through ``importlib.resources`` so
they work from a wheel or a zip as well as from a checkout; ``{% extends %}`` and ``{% include %}``
resolve against the same folder.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import jinja2

_FOLDER = "tasks/templates"


def read_template_source(name: str) -> str:
    """The text of the bundled template ``name`` (for example ``"self_instruct.jinja2"``).

    Raises:
        FileNotFoundError: no such template is bundled (a packaging bug, not a user error).
    """
    return resources.files("synthgen").joinpath(_FOLDER).joinpath(name).read_text(encoding="utf-8")


def _load_or_none(name: str) -> str | None:
    # Jinja2 loaders signal "not found" with None, which it turns into TemplateNotFound.
    try:
        return read_template_source(name)
    except FileNotFoundError:
        return None


@lru_cache(maxsize=1)
def template_environment() -> jinja2.Environment:
    """The shared environment: strict about undefined variables, no HTML escaping of prompts."""
    return jinja2.Environment(
        loader=jinja2.FunctionLoader(_load_or_none),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )


def load_template(name: str) -> jinja2.Template:
    """The compiled bundled template ``name``."""
    return template_environment().get_template(name)


def template_from_string(source: str) -> jinja2.Template:
    """Compile a user-supplied template with the same settings as the bundled ones."""
    return template_environment().from_string(source)
