"""Every hook is declared once, named synthgen_*, and documents each of its arguments."""

from __future__ import annotations

import inspect

import pytest

from synthgen.plugins import hookspecs

HOOKS = [name for name, fn in vars(hookspecs).items() if inspect.isfunction(fn) and name.startswith("synthgen_")]


def test_the_documented_hooks_are_declared() -> None:
    assert set(HOOKS) == {
        "synthgen_register_steps", "synthgen_register_llms", "synthgen_register_executors", "synthgen_register_configs",
        "synthgen_before_pipeline_run", "synthgen_after_pipeline_run",
        "synthgen_before_step_started", "synthgen_after_batch_written", "synthgen_on_step_error",
    }


@pytest.mark.parametrize("name", HOOKS)
def test_hook_is_a_hookspec(name: str) -> None:
    assert hasattr(getattr(hookspecs, name), "synthgen_spec"), f"{name} lacks @hookspec"


@pytest.mark.parametrize("name", HOOKS)
def test_hook_docstring_documents_every_argument(name: str) -> None:
    fn = getattr(hookspecs, name)
    doc = inspect.getdoc(fn) or ""
    for arg in inspect.signature(fn).parameters:
        assert f":param {arg}:" in doc, f"{name} does not document its argument '{arg}'"


@pytest.mark.parametrize("name", [h for h in HOOKS if h.startswith("synthgen_register_")])
def test_extension_hooks_take_a_registrar(name: str) -> None:
    assert list(inspect.signature(getattr(hookspecs, name)).parameters) == ["register"]
