"""docs/plugins.md has a section for every hook (a new hook without documentation fails here)."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from synthgen.plugins import hookspecs

DOCS = Path(__file__).resolve().parents[2] / "docs" / "plugins.md"
HOOKS = [name for name, fn in vars(hookspecs).items() if inspect.isfunction(fn) and name.startswith("synthgen_")]


def _sections() -> set[str]:
    return set(re.findall(r"^#+ (synthgen_\w+)\(", DOCS.read_text(), flags=re.MULTILINE))


@pytest.mark.parametrize("name", HOOKS)
def test_hook_has_a_documentation_section(name: str) -> None:
    assert name in _sections(), f"docs/plugins.md has no section '## {name}(...)': document the hook there"


def test_documented_hooks_exist() -> None:
    stale = _sections() - set(HOOKS)
    assert not stale, f"docs/plugins.md documents hooks that no longer exist: {sorted(stale)}"


@pytest.mark.parametrize("name", HOOKS)
def test_section_shows_the_hook_signature(name: str) -> None:
    args = ", ".join(inspect.signature(getattr(hookspecs, name)).parameters)
    assert f"{name}({args})" in DOCS.read_text()
