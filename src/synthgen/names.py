"""The rule for names that become paths: step, pipeline, leaf and Distiset config names.

A name is checked once, where it enters (a step or pipeline is created, a Distiset is saved), so a
name that reaches a path is always a plain folder or file name. :mod:`synthgen.paths` checks every
path again where it is built (defence in depth).
"""

from __future__ import annotations

import re

from synthgen.errors import PlanError

MAX_NAME_LENGTH = 100
NAME_RULE = (f"letters, digits, '_', '.' and '-' only, not starting with '.', at most {MAX_NAME_LENGTH} "
             "characters")
_NAME = re.compile(rf"[A-Za-z0-9_-][A-Za-z0-9_.-]{{0,{MAX_NAME_LENGTH - 1}}}")


def is_valid_name(name: object) -> bool:
    """Whether ``name`` follows :data:`NAME_RULE`."""
    return isinstance(name, str) and _NAME.fullmatch(name) is not None


def check_name(kind: str, name: object) -> str:
    """Return ``name`` when it follows :data:`NAME_RULE`.

    Args:
        kind: what is named, for the message (``"step"``, ``"pipeline"``).
        name: the name to check.

    Returns:
        The name, unchanged.

    Raises:
        PlanError: the name breaks the rule (the message names it and gives the rule).
    """
    if not is_valid_name(name):
        shown = repr(name) if isinstance(name, str) and len(name) <= 2 * MAX_NAME_LENGTH else f"{str(name)[:40]!r}..."
        raise PlanError(f"{kind} name {shown} cannot be used: a {kind} name becomes a folder in the cache, "
                        f"so it must have {NAME_RULE}. Rename it (e.g. {_suggest(name)!r})")
    return str(name)


def _suggest(name: object) -> str:
    cleaned = re.sub(r"([^A-Za-z0-9_.-]|\.\.)+", "_", str(name)).strip("._")[:MAX_NAME_LENGTH]
    return cleaned or "my_name"


def snake_case(name: str) -> str:
    """A class name as a registered name: ``LoadDataFromDicts`` -> ``load_data_from_dicts``."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).lower()
