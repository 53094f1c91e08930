"""A run is planned once (PlannedRun) and started once (RunContext): one object through the runner."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pytest

from synthgen import StepResources
from synthgen.runner.context import PlannedRun, RunContext, RunOptions
from synthgen.runner.journal import Journal
from synthgen.runner.run import plan_run

from .pipelines import chain


def test_a_planned_run_knows_its_folder_fingerprints_and_forced_steps(tmp_path: Path) -> None:
    p = chain(str(tmp_path))
    p.steps["b"].use_cache = False  # type: ignore[attr-defined]
    planned = plan_run(p, None, RunOptions())
    assert planned.name == "chain" and planned.folder_key == p.folder_key
    assert planned.pdir == tmp_path / "chain" / p.folder_key
    assert planned.forced == {"b", "total", "c"}  # b and everything downstream of it
    assert planned.fingerprints() == {n: node.fingerprint for n, node in p.graph().nodes.items()}
    assert plan_run(p, None, RunOptions(use_cache=False)).forced == set(p.graph().nodes)


def test_only_the_local_runner_gives_replicas_this_machines_gpus(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1")
    p = chain(str(tmp_path))
    p.steps["a"].resources = StepResources(gpus=1)  # type: ignore[attr-defined]
    assert plan_run(p, None, RunOptions(runner="local")).gpu_plan["a"] == [["0"]]
    assert plan_run(p, None, RunOptions(runner="ray")).gpu_plan == {}  # the cluster places replicas


def test_a_started_run_keeps_every_planned_field(tmp_path: Path) -> None:
    planned = plan_run(chain(str(tmp_path)), None, RunOptions(retry_failed=False))
    journal = Journal(planned.pdir, {}, planned.fingerprints())
    ctx = planned.started(journal, executor=object(), run_dir="run", checkpoints=None)  # type: ignore[arg-type]
    assert isinstance(ctx, RunContext)
    assert all(getattr(ctx, f.name) is getattr(planned, f.name) for f in fields(PlannedRun))
    assert (ctx.journal, ctx.run_dir, ctx.options.retry_failed) == (journal, "run", False)

