"""Executors are chosen by name from one table: the built-ins and a third one alike."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from synthgen.errors import ConfigError
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


@pytest.fixture
def third(monkeypatch: pytest.MonkeyPatch) -> ExecutorSpec:
    """``counting`` registered for one test; the table is as it was afterwards."""
    monkeypatch.setattr(executors, "_executors", {name: executors.executor_spec(name) for name in executor_names()})
    STARTED.clear()
    spec = ExecutorSpec("counting", f"{__name__}:CountingExecutor", frozenset({"label"}), local_gpus=True)
    register_executor(spec)
    return spec


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
    assert str(err.value) == ("runner 'ray' is registered already (synthgen.runner.ray_executor:RayExecutor): "
                              "register the new executor under another name")
