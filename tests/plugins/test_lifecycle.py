"""Lifecycle hooks fire during a real run: pipeline hooks in the main process, batch hooks in workers."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from synthgen import Pipeline
from synthgen.plugins import get_registry


def test_hooks_fire_in_the_main_process_and_in_spawned_workers(probe, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from synthgen.steps.loaders import LoadDataFromDicts

    # The step class comes from the probe plugin, so spawned workers can import it like any plugin step.
    probe_step = get_registry().get_step("probe_step")
    with Pipeline(name="hooks", cache_dir=tmp_path / "cache") as pipeline:
        load = LoadDataFromDicts(name="load", data=[{"x": i} for i in range(4)], batch_size=2)
        work = probe_step(name="work", input_batch_size=2)
        load >> work
    pipeline.run()

    events = probe.events()
    main = [e["event"] for e in events if e["pid"] == os.getpid()]
    assert main[0] == "before_pipeline_run" and main[-1] == "after_pipeline_run"
    written = [e for e in events if e["event"] == "after_batch_written" and e["step"] == "work"]
    assert len(written) == 2
    assert all(e["pid"] != os.getpid() for e in written), "batch hooks must fire in the worker process"


def test_before_step_started_fires_in_the_worker(probe, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from synthgen.steps.loaders import LoadDataFromDicts

    probe_step = get_registry().get_step("probe_step")
    with Pipeline(name="started", cache_dir=tmp_path / "cache") as pipeline:
        LoadDataFromDicts(name="load", data=[{"x": 1}]) >> probe_step(name="work")
    pipeline.run()

    started = [e for e in probe.events() if e["event"] == "before_step_started" and e["step"] == "work"]
    assert started and all(e["pid"] != os.getpid() for e in started)


def test_on_step_error_fires_in_the_main_process_with_the_failed_step(probe, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from synthgen_probe import FailingStep  # type: ignore[import-not-found]

    from synthgen.errors import SynthgenError
    from synthgen.steps.loaders import LoadDataFromDicts

    with Pipeline(name="fails", cache_dir=tmp_path / "cache") as pipeline:
        LoadDataFromDicts(name="load", data=[{"x": 1}]) >> FailingStep(name="broken")
    with pytest.raises(SynthgenError):
        pipeline.run()

    (event,) = [e for e in probe.events() if e["event"] == "on_step_error"]
    assert (event["step"], event["pid"]) == ("broken", os.getpid())
    assert "probe failure" in str(event["error"])


def test_an_installed_plugins_executor_runs_a_pipeline_by_its_runner_name(probe, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from synthgen.steps.loaders import LoadDataFromDicts

    probe_step = get_registry().get_step("probe_step")
    with Pipeline(name="executor", cache_dir=tmp_path / "cache") as pipeline:
        LoadDataFromDicts(name="load", data=[{"x": i} for i in range(3)]) >> probe_step(name="work")
    rows = pipeline.run(runner="probe_local", runner_options={"tag": "t1"})["default"]["train"]
    assert rows["probed"] == [True] * 3
    started = {(e["step"], e["tag"]) for e in probe.events() if e["event"] == "executor_started"}
    assert started == {("load", "t1"), ("work", "t1")}
