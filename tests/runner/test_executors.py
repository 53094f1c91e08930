"""Executors are chosen by name from the registry: the built-ins and a plugin's, registered through one hook."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from synthgen.errors import ConfigError, RegistryError
from synthgen.plugins import get_plugin_manager, hookimpl, reset_plugin_manager
from synthgen.plugins.describe import describe_plugins, render_plugins_table
from synthgen.plugins.registry import Registrar, Registry
from synthgen.runner import executors
from synthgen.runner.executors import ExecutorSpec, executor_names, make_executor, register_executor
from synthgen.runner.local import LocalExecutor

from .pipelines import chain

STARTED: list[str] = []


class CountingExecutor(LocalExecutor):
    """A third executor: local processes, counting the steps it starts."""

    name = "counting"

    def __init__(self, store_root: str, log_level: str, label: str = "") -> None:
        super().__init__(store_root, log_level)
        self.label = label

    def start(self, step: Any, gpu_ids: list[list[str]] | None) -> None:
        STARTED.append(f"{self.label}{step.name}")
        super().start(step, gpu_ids)


class CountingPlugin:
    """A plugin package's executor, registered through the hook as the built-ins are."""

    @hookimpl
    def synthgen_register_executors(self, register: Registrar) -> None:
        register.add_executor("counting", f"{__name__}:CountingExecutor", options=("label",), local_gpus=True)


@pytest.fixture
def third() -> Iterator[ExecutorSpec]:
    """``counting`` registered by a plugin for one test; the plugins are as they were afterwards."""
    STARTED.clear()
    get_plugin_manager().register(CountingPlugin(), name="counting_plugin")
    try:
        yield executors.executor_spec("counting")
    finally:
        reset_plugin_manager()


def test_the_builtin_executors_are_local_and_ray() -> None:
    assert executor_names()[:2] == ["local", "ray"]
    assert executors.executor_spec("local").local_gpus and not executors.executor_spec("ray").local_gpus


def test_a_registered_executor_runs_a_pipeline_by_its_name(third: ExecutorSpec, tmp_path: Path) -> None:
    out = chain(str(tmp_path), count=40).run(runner="counting", runner_options={"label": "x:"})
    assert [r["n"] for r in out["default"]["train"].to_list()] == list(range(40))
    assert sorted(STARTED) == ["x:a", "x:b", "x:c", "x:gen", "x:total"]


def test_an_unknown_runner_names_every_registered_one(third: ExecutorSpec, tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        make_executor("dask", str(tmp_path), "INFO")
    assert str(err.value) == "unknown runner 'dask': the runners are 'local', 'ray' and 'counting'"


def test_options_of_a_registered_executor_are_checked(third: ExecutorSpec, tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        make_executor("counting", str(tmp_path), "INFO", {"labl": "x"})
    assert str(err.value) == "runner 'counting' has no option 'labl'. Its options: label"


def test_a_name_is_registered_once(third: ExecutorSpec) -> None:
    with pytest.raises(ConfigError) as err:
        register_executor(ExecutorSpec("ray", "somewhere:Else"))
    assert str(err.value) == (
        "runner 'ray' is registered twice: by plugin 'synthgen.plugins.builtin.executors' "
        "(synthgen.runner.ray_executor:RayExecutor) and by plugin '<direct>' (somewhere:Else). Register the new "
        "executor under another name, or disable one plugin with SYNTHGEN_DISABLE_PLUGINS"
    )


def test_the_plugins_list_names_the_executors_each_registered(third: ExecutorSpec) -> None:
    described = {info["name"]: info for info in describe_plugins()}
    assert described["synthgen.plugins.builtin.executors"]["executors"] == ["local", "ray"]
    assert described["counting_plugin"]["executors"] == ["counting"]
    assert "\texecutors: counting\tsynthgen_register_executors\n" in render_plugins_table(plain=True)


def test_a_script_registers_an_executor_without_a_plugin(tmp_path: Path) -> None:
    try:
        register_executor(ExecutorSpec("scripted", f"{__name__}:CountingExecutor", frozenset({"label"})))
        STARTED.clear()
        chain(str(tmp_path), count=5).run(runner="scripted", runner_options={"label": "s:"})
        assert "s:gen" in STARTED
    finally:
        reset_plugin_manager()


def test_an_executor_named_other_than_module_class_is_refused_at_registration() -> None:
    with pytest.raises(RegistryError, match="must name its class as 'module:Class', got 'SlurmExecutor'"):
        Registry().add_executor(ExecutorSpec("slurm", "SlurmExecutor"), plugin="slurm_plugin")
