"""The plugin manager: built on demand per process, built-ins through hooks, entry points, blocking."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from synthgen.errors import RegistryError
from synthgen.plugins import (
    BUILTIN_PLUGINS,
    get_plugin_manager,
    get_registry,
    hook,
    hookimpl,
    reset_plugin_manager,
)
from synthgen.steps import Step


def _run_python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=120, env=os.environ.copy())


def test_importing_synthgen_builds_no_manager_and_loads_no_plugin() -> None:
    result = _run_python("""
        import sys
        import synthgen, synthgen.plugins
        from synthgen.plugins import manager
        assert manager._state == {}, manager._state
        loaded = [m for m in sys.modules if m.startswith(("synthgen_", "synthgen.plugins.builtin."))]
        assert not loaded, loaded
    """)
    assert result.returncode == 0, result.stderr


def test_the_manager_is_cached_until_reset() -> None:
    pm = get_plugin_manager()
    assert get_plugin_manager() is pm
    reset_plugin_manager()
    assert get_plugin_manager() is not pm


def test_builtins_are_plugins_registered_through_the_hooks() -> None:
    pm = get_plugin_manager()
    for name in BUILTIN_PLUGINS:
        plugin = pm.get_plugin(name)
        assert plugin is not None, f"built-in plugin {name} is not registered"
        assert any(c.name.startswith("synthgen_register_") for c in pm.get_hookcallers(plugin) or [])
    registry = get_registry()
    assert registry.llms["openai"].plugin == "synthgen.plugins.builtin.llms"
    assert registry.steps["text_generation"].plugin == "synthgen.plugins.builtin.tasks"


def test_entry_point_plugins_are_loaded(probe: object) -> None:
    registry = get_registry()
    assert registry.steps["probe_step"].plugin == "probe"
    assert registry.get_step("probe_step").__module__ == "synthgen_probe"


@pytest.mark.parametrize("disabled", ["probe", " probe , other"])
def test_disable_env_blocks_an_entry_point_plugin(probe: object, monkeypatch: pytest.MonkeyPatch, disabled: str) -> None:
    monkeypatch.setenv("SYNTHGEN_DISABLE_PLUGINS", disabled)
    assert get_plugin_manager().get_plugin("probe") is None
    assert "probe_step" not in get_registry().steps


def test_disable_env_blocks_a_builtin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNTHGEN_DISABLE_PLUGINS", "synthgen.plugins.builtin.llms")
    registry = get_registry()
    assert "openai" not in registry.llms
    assert "text_generation" in registry.steps


def test_the_registry_follows_plugins_registered_later() -> None:
    class Late(Step):
        pass

    class LatePlugin:
        @hookimpl
        def synthgen_register_steps(self, register):  # type: ignore[no-untyped-def]
            register.add_step(Late)

    assert "late" not in get_registry().steps
    get_plugin_manager().register(LatePlugin(), name="late_plugin")
    assert get_registry().steps["late"].plugin == "late_plugin"


def test_two_plugins_registering_one_name_is_an_error_naming_both() -> None:
    class Clash:
        @hookimpl
        def synthgen_register_llms(self, register):  # type: ignore[no-untyped-def]
            register.add_llm("x:Y", name="openai")

    get_plugin_manager().register(Clash(), name="clash")
    with pytest.raises(RegistryError, match="'synthgen.plugins.builtin.llms'.*'clash'"):
        get_registry()


def test_a_hook_without_the_register_argument_is_called_too() -> None:
    calls: list[str] = []

    class NoArgs:
        @hookimpl
        def synthgen_register_configs(self):  # type: ignore[no-untyped-def]
            calls.append("called")

    get_plugin_manager().register(NoArgs(), name="no_args")
    get_registry()
    assert calls == ["called"]


def test_hook_relay_calls_lifecycle_hooks(probe) -> None:  # type: ignore[no-untyped-def]
    hook().synthgen_on_step_error(step=Step(name="s"), error=ValueError("boom"))
    assert probe.events() == [{"event": "on_step_error", "pid": os.getpid(), "step": "s", "error": "boom"}]


def test_a_fresh_process_rebuilds_the_manager_and_fires_hooks_there(probe) -> None:  # type: ignore[no-untyped-def]
    result = _run_python("""
        from synthgen.plugins import hook
        from synthgen.steps import Step
        hook().synthgen_after_batch_written(step=Step(name="w"), batch=None)
    """)
    assert result.returncode == 0, result.stderr
    (event,) = probe.events()
    assert event["event"] == "after_batch_written" and event["step"] == "w"
    assert event["pid"] != os.getpid()


def test_a_plugin_that_fails_to_import_is_named_with_the_fix(probe, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    (probe.root / "synthgen_probe.py").write_text("raise ImportError('needs a package that is missing')\n")
    with pytest.raises(RegistryError) as info:
        get_plugin_manager()
    assert str(info.value) == (
        "plugin 'probe' (entry point group 'synthgen') failed to load: ImportError: needs a package that "
        "is missing. Fix or uninstall its package, or skip it with SYNTHGEN_DISABLE_PLUGINS=probe"
    )
    monkeypatch.setenv("SYNTHGEN_DISABLE_PLUGINS", "probe")
    reset_plugin_manager()
    assert get_plugin_manager().get_plugin("probe") is None
