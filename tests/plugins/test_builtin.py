"""Built-in steps, tasks and backends are registered by name through the hooks, and the names match."""

from __future__ import annotations

import importlib.util

import pytest

from synthgen.plugins import get_registry
from synthgen.plugins.builtin.llms import LLMS
from synthgen.plugins.builtin.steps import STEPS
from synthgen.plugins.builtin.tasks import TASKS


def _written(path: str) -> bool:
    """Whether the module exists and defines the class (the built-in modules are still being written)."""
    module, _, attr = path.partition(":")
    try:
        return importlib.util.find_spec(module) is not None and hasattr(importlib.import_module(module), attr)
    except ImportError:
        return False


def test_every_builtin_step_and_task_is_registered() -> None:
    registry = get_registry()
    for name, path in (*STEPS, *TASKS):
        assert registry.steps[name].path == path


def test_every_builtin_backend_is_registered() -> None:
    registry = get_registry()
    for name, path in LLMS:
        assert registry.llms[name].path == path


@pytest.mark.parametrize(("kind", "name", "path"), [("step", n, p) for n, p in (*STEPS, *TASKS)] + [("llm", n, p) for n, p in LLMS])
def test_registered_name_matches_what_the_class_dumps(kind: str, name: str, path: str) -> None:
    # dump() records registered_name(); a config built from pipeline.yaml must find the same class again.
    if not _written(path):
        pytest.skip(f"{path} is not written yet; this test runs once that class exists")
    registry = get_registry()
    cls = registry.get_step(name) if kind == "step" else registry.get_llm(name)
    assert cls.registered_name() == name


def test_no_builtin_name_is_registered_twice() -> None:
    names = [n for n, _ in (*STEPS, *TASKS)]
    assert len(names) == len(set(names))


def test_resolving_every_builtin_imports_no_heavy_backend() -> None:
    import os
    import subprocess
    import sys
    import textwrap

    code = textwrap.dedent("""
        import sys
        from synthgen.plugins import get_registry
        registry = get_registry()
        for name in registry.steps:
            registry.get_step(name)
        for name in registry.llms:
            registry.get_llm(name)
        print(",".join(sorted({m.split(".")[0] for m in sys.modules}
                              & {"torch", "vllm", "ray", "openai", "anthropic", "llama_cpp"})))
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=os.environ.copy())
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"resolving built-in classes imported {result.stdout.strip()}"
