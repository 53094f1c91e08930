"""Run status, times and counts read from a pipeline folder, in each state a run can leave it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from filelock import FileLock

from synthgen.errors import CacheError
from synthgen.runner.journal import Journal
from synthgen.view import runs
from synthgen.view.pages import environment, run_context
from synthgen.view.prices import PriceTable
from synthgen.yaml_io import load_yaml


@pytest.fixture
def folder(pdir: Path, tmp_path: Path) -> Path:
    """A copy of the finished run's folder, to change its state."""
    copy = tmp_path / "judged" / pdir.name
    shutil.copytree(pdir, copy)
    return copy


def test_a_finished_run_with_failed_rows_has_its_counts_models_and_times(pdir: Path) -> None:
    run = runs.read_run(pdir)
    assert run.status == runs.FAILED_ROWS
    assert list(run.steps) == ["load", "generate", "judge", "rated"] and run.leaves == ["rated"]
    assert run.leaf_rows() == {"rated": 20}
    generate = run.steps["generate"]
    assert (generate.rows, generate.batches, generate.rows_computed, generate.failed) == (20, 4, 20, 2)
    assert [row for row, _ in generate.failures] == [3, 11] and "HTTP 500" in generate.failures[0][1]
    assert generate.model == "gpt-4o-mini" and run.steps["load"].model is None
    assert ("generate", "judge") in run.edges
    assert run.started is not None and run.finished is not None and run.wall_time is not None
    assert 0 < run.wall_time < 600


def test_pending_offline_jobs_make_the_status_pending(folder: Path) -> None:
    Journal(folder).record_offline_jobs("generate", ("batch_1",))
    assert runs.read_run(folder).status == runs.PENDING


def test_a_run_that_did_not_save_its_finish_is_interrupted(folder: Path) -> None:
    Journal(folder).mark_unfinished()
    run = runs.read_run(folder)
    assert run.status == runs.INTERRUPTED and run.finished is not None


def test_a_running_run_counts_the_batches_it_released_once_each(folder: Path) -> None:
    fingerprints = {n: p["fingerprint"] for n, p in load_yaml((folder / "pipeline.yaml").read_text())["provenance"].items()}
    journal = Journal(folder, fingerprints=fingerprints)
    for digest, rows in (("a" * 64, 5), ("b" * 64, 5), ("a" * 64, 5)):  # a resumed run logs "a" again
        journal.log_output("generate", digest, rows)
    lock = FileLock(str(folder / ".lock"))
    with lock:
        assert runs.is_running(folder)
        run = runs.read_run(folder)
    assert run.status == runs.RUNNING and run.finished is None
    assert (run.steps["generate"].rows, run.steps["generate"].batches) == (10, 2)
    assert run.steps["judge"].rows == 0, "the last run's counts are not this run's"
    assert not runs.is_running(folder)


def test_a_folder_whose_run_never_got_going_is_not_run_yet(tmp_path: Path, pdir: Path) -> None:
    folder = tmp_path / "judged" / "abc"
    folder.mkdir(parents=True)
    shutil.copy(pdir / "pipeline.yaml", folder / "pipeline.yaml")
    assert runs.read_run(folder).status == runs.NOT_RUN


def test_pipeline_dirs_lists_pipeline_folders_only(cache: Path, pdir: Path) -> None:
    assert runs.pipeline_dirs(cache) == [pdir]


@pytest.mark.parametrize("name, signature", [("..", "x"), ("objects", "x"), ("judged", ".."), ("judged", "nope")])
def test_a_folder_outside_the_pipelines_is_refused(cache: Path, name: str, signature: str) -> None:
    with pytest.raises(CacheError, match=f"no pipeline folder {name}/{signature} in .*: pick one from the start page"):
        runs.pipeline_dir(cache, name, signature)


def test_a_damaged_pipeline_yaml_shows_the_folder_without_steps(folder: Path) -> None:
    (folder / "pipeline.yaml").write_text("pipeline: [unclosed")
    run = runs.read_run(folder)
    assert run.steps == {} and run.status == runs.FAILED_ROWS
    html = environment().get_template("run.html").render(**run_context(run, PriceTable({}), {}), explain_heading="")
    assert "finished with failed rows" in html


def test_without_proc_locks_a_folder_with_release_logs_and_no_finish_counts_as_running(
        folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runs, "PROC_LOCKS", tmp_path / "no-such-file")
    assert not runs.is_running(folder), "a finished run's folder"
    journal = Journal(folder, fingerprints={"load": "f" * 64})
    journal.mark_unfinished()
    journal.log_output("load", "a" * 64, 5)
    assert runs.is_running(folder)
