"""End-to-end behaviour of the local runner: order, caching, partial reuse, errors, stages."""

from __future__ import annotations

from pathlib import Path

import psutil
import pytest

from synthgen import Pipeline, StepResources
from synthgen.errors import ConfigError, StepError
from synthgen.runner.worker_process import ENTRY as WORKER_ENTRY
from synthgen.testing.steps import AddColumn, FailOn, GenerateNumbers, LifecycleLog, RecordPid, batches_run

from .pipelines import chain

EXPECTED_TOTAL = sum(range(200))


def rows(distiset) -> list[dict]:  # type: ignore[no-untyped-def]
    return distiset["default"]["train"].to_list()


def test_output_follows_generator_order_with_replicas_and_rebatching(tmp_path: Path) -> None:
    out = rows(chain(str(tmp_path), replicas=3, delay=0.01).run())
    assert [r["n"] for r in out] == list(range(200))
    assert all(r["a"] == 2 * r["n"] and r["b"] == r["a"] + 1 and r["c"] == EXPECTED_TOTAL for r in out)


def test_replicas_run_in_separate_processes(tmp_path: Path) -> None:
    with Pipeline(name="pids", cache_dir=tmp_path) as p:
        GenerateNumbers(count=100, batch_size=10) >> RecordPid(resources=StepResources(replicas=2), input_batch_size=5)
    pids = {r["pid"] for r in rows(p.run())}
    assert len(pids) == 2


def test_rerun_of_finished_pipeline_runs_no_step(tmp_path: Path) -> None:
    counts = tmp_path / "counts"
    counts.mkdir()
    first = rows(chain(str(tmp_path), count_dir=str(counts)).run())
    before = {s: batches_run(counts, s) for s in "ab"}
    second = rows(chain(str(tmp_path), count_dir=str(counts)).run())
    assert second == first
    assert {s: batches_run(counts, s) for s in "ab"} == before


def test_changed_parameter_reruns_that_step_and_downstream_only(tmp_path: Path) -> None:
    counts = tmp_path / "counts"
    counts.mkdir()
    chain(str(tmp_path), count_dir=str(counts)).run()
    base = {s: batches_run(counts, s) for s in ("a", "b", "total", "c")}
    p = chain(str(tmp_path), count_dir=str(counts))
    p.steps["b"].offset = 5  # type: ignore[attr-defined]
    out = rows(p.run())
    assert batches_run(counts, "a") == base["a"]  # upstream reused
    assert batches_run(counts, "b") == 2 * base["b"]
    assert batches_run(counts, "total") == 2 and out[0]["b"] == 5


def test_appended_rows_compute_only_new_batches(tmp_path: Path) -> None:
    counts = tmp_path / "counts"
    counts.mkdir()
    chain(str(tmp_path), count=200, count_dir=str(counts)).run()
    first_a = batches_run(counts, "a")
    out = rows(chain(str(tmp_path), count=260, count_dir=str(counts)).run())
    assert [r["n"] for r in out] == list(range(260))
    # 200 rows in batches of 15 leave a partial last batch (rows 195-199) which is recomputed with the new rows.
    new_batches = batches_run(counts, "a") - first_a
    assert new_batches == len(range(195, 260, 15))


def _file_pipeline(cache: Path, data: Path, counts: Path) -> Pipeline:
    from synthgen.steps.loaders import LoadDataFromFileSystem

    with Pipeline(name="from-file", cache_dir=cache) as p:
        load = LoadDataFromFileSystem(name="load", data_files=str(data), batch_size=10)
        load >> AddColumn(name="a", factor=3, output="a", count_dir=str(counts), input_batch_size=10)
    return p


def test_rows_appended_to_an_input_file_are_computed_alone(tmp_path: Path) -> None:
    import json

    counts, data = tmp_path / "counts", tmp_path / "rows.jsonl"
    counts.mkdir()
    data.write_text("".join(json.dumps({"n": i}) + "\n" for i in range(30)))
    assert len(rows(_file_pipeline(tmp_path, data, counts).run())) == 30
    assert batches_run(counts, "a") == 3
    assert len(rows(_file_pipeline(tmp_path, data, counts).run())) == 30  # unchanged file: from the cache
    assert batches_run(counts, "a") == 3
    with data.open("a") as fh:
        fh.write("".join(json.dumps({"n": i}) + "\n" for i in range(30, 40)))
    out = rows(_file_pipeline(tmp_path, data, counts).run())
    assert [r["a"] for r in out] == [3 * i for i in range(40)], "the appended rows are read, not ignored"
    assert batches_run(counts, "a") == 4, "only the batch of new rows is computed"


def test_use_cache_false_on_a_step_reruns_it_and_downstream(tmp_path: Path) -> None:
    counts = tmp_path / "counts"
    counts.mkdir()
    chain(str(tmp_path), count_dir=str(counts)).run()
    base = {s: batches_run(counts, s) for s in ("a", "b", "c")}
    p = chain(str(tmp_path), count_dir=str(counts))
    p.steps["b"].use_cache = False
    p.run()
    assert batches_run(counts, "a") == base["a"]
    assert batches_run(counts, "b") == 2 * base["b"] and batches_run(counts, "c") == 2 * base["c"]


def test_run_use_cache_false_reruns_everything(tmp_path: Path) -> None:
    counts = tmp_path / "counts"
    counts.mkdir()
    chain(str(tmp_path), count_dir=str(counts)).run()
    base_a = batches_run(counts, "a")
    chain(str(tmp_path), count_dir=str(counts)).run(use_cache=False)
    assert batches_run(counts, "a") == 2 * base_a


def _children() -> list[psutil.Process]:
    """Step replicas started by this process."""
    out = []
    for child in psutil.Process().children(recursive=True):
        try:
            if WORKER_ENTRY in child.cmdline() and child.status() != psutil.STATUS_ZOMBIE:
                out.append(child)
        except psutil.NoSuchProcess:
            continue
    return out


def test_step_exception_raises_step_error_and_ends_workers(tmp_path: Path) -> None:
    with Pipeline(name="fails", cache_dir=tmp_path) as p:
        GenerateNumbers(count=100, batch_size=10) >> FailOn(name="explodes", value=42,
                                                            resources=StepResources(replicas=2))
    with pytest.raises(StepError, match="step 'explodes' failed: ValueError: boom at n=42") as err:
        p.run()
    assert isinstance(err.value.__cause__, ValueError)
    assert _children() == []


def test_unknown_runtime_parameter_lists_valid_ones(tmp_path: Path) -> None:
    p = chain(str(tmp_path))
    with pytest.raises(ConfigError, match="unknown runtime parameter 'batchsize' for step 'a'. Valid runtime parameters: input_batch_size"):
        p.run(parameters={"a": {"batchsize": 3}})


def test_runtime_parameters_change_batching(tmp_path: Path) -> None:
    p = chain(str(tmp_path))
    p.run(parameters={"a": {"input_batch_size": 50}})
    assert p.steps["a"].input_batch_size == 50  # type: ignore[attr-defined]


@pytest.mark.parametrize("kind", ["list", "dataset", "pandas"])
def test_run_accepts_a_dataset_without_generator(tmp_path: Path, kind: str) -> None:
    import datasets
    import pandas as pd

    data: object = [{"n": i} for i in range(30)]
    if kind == "dataset":
        data = datasets.Dataset.from_list(data)  # type: ignore[arg-type]
    elif kind == "pandas":
        data = pd.DataFrame(data)
    with Pipeline(name="ds", cache_dir=tmp_path) as p:
        AddColumn(factor=3)
    out = rows(p.run(dataset=data))
    assert [r["out"] for r in out] == [3 * i for i in range(30)]


def test_load_stages_unload_before_next_stage_loads(tmp_path: Path) -> None:
    log = tmp_path / "events.log"
    with Pipeline(name="stages", cache_dir=tmp_path / "c") as p:
        GenerateNumbers(count=40, batch_size=10) >> LifecycleLog(name="first", log_file=str(log)) \
            >> LifecycleLog(name="second", log_file=str(log))
    p.run(load_groups="sequential_step_execution")
    events = [line.split()[:2] for line in log.read_text().splitlines()]
    assert events == [["load", "first"], ["unload", "first"], ["load", "second"], ["unload", "second"]]


def test_gpu_ids_are_assigned_through_cuda_visible_devices(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3,5")
    with Pipeline(name="gpu", cache_dir=tmp_path) as p:
        GenerateNumbers(count=40, batch_size=10) >> RecordPid(resources=StepResources(replicas=2, gpus=1), input_batch_size=5)
    by_pid: dict[int, set[str]] = {}
    for r in rows(p.run()):
        by_pid.setdefault(r["pid"], set()).add(r["devices"])
    assert sorted(d for ds in by_pid.values() for d in ds) == ["3", "5"]


def test_corrupted_object_is_recomputed_not_used(tmp_path: Path) -> None:
    first = rows(chain(str(tmp_path)).run())
    for obj in (tmp_path / "objects").rglob("*.arrow"):
        obj.write_bytes(obj.read_bytes()[:10])  # truncate every object in the store
    again = chain(str(tmp_path))
    again.steps["c"].use_cache = False  # skip the finished-run shortcut so the store is read
    assert rows(again.run()) == first


def test_a_second_run_of_the_same_parameters_waits_for_the_first_and_reuses_it(tmp_path: Path) -> None:
    import threading

    from filelock import FileLock

    p = chain(str(tmp_path))
    pdir = tmp_path / "chain" / p.folder_key
    pdir.mkdir(parents=True)
    held = FileLock(str(pdir / ".lock"))
    held.acquire()
    out: list[list[dict]] = []  # type: ignore[type-arg]
    waiter = threading.Thread(target=lambda: out.append(rows(p.run())))
    waiter.start()
    waiter.join(timeout=3)
    assert waiter.is_alive() and not out, "the second run waits while the first holds the folder"
    held.release()
    waiter.join(timeout=120)
    assert out and len(out[0]) == 200


def test_each_parameterization_has_its_own_folder(tmp_path: Path) -> None:
    assert chain(str(tmp_path), factor=2).folder_key != chain(str(tmp_path), factor=3).folder_key
    chain(str(tmp_path), factor=2).run()
    chain(str(tmp_path), factor=3).run()
    assert len([d for d in (tmp_path / "chain").iterdir() if d.is_dir()]) == 2


def test_pipeline_yaml_and_data_folder_are_written(tmp_path: Path) -> None:
    import yaml

    p = chain(str(tmp_path))
    p.run()
    pdir = tmp_path / "chain" / p.folder_key
    spec = yaml.safe_load((pdir / "pipeline.yaml").read_text())
    assert spec["aggregated_steps_signature"] == p.aggregated_steps_signature
    assert set(spec["pipeline"]["steps"]) == {"gen", "a", "b", "total", "c"}
    assert (pdir / "data" / "c" / "00001.parquet").exists()
    assert (pdir / "batch_manager.json").exists() and (pdir / "batch_manager_steps" / "a.json").exists()


@pytest.mark.parametrize("runner, options, message", [
    ("local", {"address": "head:6379"}, "runner 'local' has no option 'address'. Its options: none"),
    ("ray", {"adress": "x"}, "runner 'ray' has no option 'adress'. Its options: address, num_cpus"),
    ("dask", {}, "unknown runner 'dask': the runners are 'local' and 'ray'"),
])
def test_bad_runner_or_option_is_one_clear_error(tmp_path: Path, runner: str, options: dict, message: str) -> None:
    from synthgen.runner.executors import make_executor
    from synthgen.store import Store

    with pytest.raises(ConfigError) as err:
        make_executor(runner, Store(tmp_path).location, "INFO", options)
    assert str(err.value) == message
