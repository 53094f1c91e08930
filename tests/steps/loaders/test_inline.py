"""Inline rows are data, not configuration: stored once, named by their hash in the fingerprint, in
pipeline.yaml and in the copies of the step that workers get (issue 19)."""

from __future__ import annotations

import hashlib
import json
import pickle
from pathlib import Path

import cloudpickle
import pytest
import yaml

from synthgen import Pipeline
from synthgen.errors import ConfigError
from synthgen.runner import cache_commands
from synthgen.steps import step
from synthgen.steps.base import StepInput
from synthgen.steps.loaders import LoadDataFromDicts, inline
from synthgen.steps.loaders.inline import content_hash
from synthgen.store import Store

ROWS = [{"n": i, "text": f"row {i}"} for i in range(50)]


@step(inputs=["n"], outputs=["double"])
def Double(inputs: StepInput, *, factor: int = 2):  # noqa: ANN201, N802 - a step class, named like one
    yield [{**row, "double": row["n"] * factor} for row in inputs]


def _pipeline(cache: Path, factor: int = 2) -> Pipeline:
    with Pipeline(name="rows-inline", cache_dir=cache) as p:
        LoadDataFromDicts(name="load", data=ROWS, batch_size=7) >> Double(name="double", factor=factor)
    return p


def test_dump_and_fingerprint_name_the_rows_by_hash_with_a_sample() -> None:
    dumped = LoadDataFromDicts(data=ROWS).dump()["data"]
    assert dumped == {"inline_rows": content_hash(ROWS), "num_rows": 50, "columns": ["n", "text"],
                      "sample": ROWS[:3]}
    other = LoadDataFromDicts(data=[*ROWS[:-1], {"n": 49, "text": "changed"}])
    assert other.fingerprint_params() != LoadDataFromDicts(data=ROWS).fingerprint_params()


def test_a_stored_step_travels_without_its_rows_and_reads_them_back(tmp_path: Path) -> None:
    load = LoadDataFromDicts(name="load", data=ROWS, batch_size=20)
    load.store_inline_data(Store(tmp_path))
    copy = pickle.loads(cloudpickle.dumps(load))
    assert copy.data["inline_rows"] == content_hash(ROWS)
    assert b"row 42" not in cloudpickle.dumps(load)
    assert copy.outputs == ["n", "text"] and copy.dump() == load.dump()
    batches = list(copy.process(offset=10))
    assert [rows for rows, _ in batches] == [ROWS[10:30], ROWS[30:50]]
    assert [last for _, last in batches] == [False, True]


def test_a_step_built_from_a_reference_fails_clearly_when_the_cache_lacks_the_rows(tmp_path: Path) -> None:
    ref = LoadDataFromDicts(data=ROWS).dump()["data"]
    load = LoadDataFromDicts(name="load", data=ref)
    with pytest.raises(ConfigError, match=r"step 'load' refers to inline rows .* cache gc"):
        load.store_inline_data(Store(tmp_path))


def test_a_mapping_that_is_not_a_reference_is_refused() -> None:
    with pytest.raises(ValueError, match="list of dicts"):
        LoadDataFromDicts(data={"n": 1})


def test_pipeline_yaml_holds_the_reference_and_reruns_a_changed_step_from_the_stored_rows(tmp_path: Path) -> None:
    first = _pipeline(tmp_path).run()["default"]["train"].to_list()
    [recorded] = list(tmp_path.glob("rows-inline/*/pipeline.yaml"))
    text = recorded.read_text()
    assert "row 42" not in text and content_hash(ROWS) in text
    dumped = yaml.safe_load(text)
    dumped["pipeline"]["steps"]["double"]["factor"] = 3  # a changed step: the loader runs again, from the cache
    again = Pipeline.from_dict(dumped, cache_dir=tmp_path).run()["default"]["train"].to_list()
    assert [row["double"] for row in again] == [row["n"] * 3 for row in first]
    assert [row["text"] for row in again] == [row["text"] for row in ROWS]


def test_cache_gc_keeps_the_rows_a_pipeline_folder_names(tmp_path: Path) -> None:
    p = _pipeline(tmp_path)
    p.run()
    cache_commands.gc(tmp_path)
    dumped = p.dump()
    dumped["pipeline"]["steps"]["double"]["factor"] = 5
    rows = Pipeline.from_dict(dumped, cache_dir=tmp_path).run()["default"]["train"].to_list()
    assert [row["double"] for row in rows] == [row["n"] * 5 for row in ROWS]


def test_a_saved_pipeline_runs_on_its_own_from_a_cache_without_the_rows(tmp_path: Path) -> None:
    _pipeline(tmp_path / "a").save(tmp_path / "p.yaml")
    assert len(Pipeline.from_yaml(tmp_path / "p.yaml", cache_dir=tmp_path / "a").run()["default"]["train"]) == 50
    with pytest.raises(ConfigError, match="no longer has"):
        Pipeline.from_yaml(tmp_path / "p.yaml", cache_dir=tmp_path / "b").run()


def test_new_rows_assigned_to_data_get_a_new_hash_and_columns() -> None:
    load = LoadDataFromDicts(data=ROWS)
    before = load.dump()["data"]["inline_rows"]
    load.data = [{"other": 1}]
    assert load.dump()["data"]["inline_rows"] == content_hash([{"other": 1}]) != before
    assert load.outputs == ["other"]


def test_the_step_holds_the_callers_rows_without_a_copy_and_refuses_other_shapes() -> None:
    load = LoadDataFromDicts(data=ROWS)
    assert load.data is ROWS  # a copy would double the memory of a large dataset
    with pytest.raises(ValueError, match="list of dicts"):
        LoadDataFromDicts(data=[1, 2])


def test_the_hash_of_rows_is_the_canonical_json_it_always_was_and_a_row_holding_itself_is_named() -> None:
    # Fingerprints of existing caches depend on it: the same bytes as json.dumps(sort_keys) hashed.
    rows = [{"b": [1.5, None, "é", float("nan")], "a": {"z": 1, "y": b"\x00"}}]
    canonical = json.dumps(rows, sort_keys=True, separators=(",", ":"), default=repr, ensure_ascii=False)
    assert content_hash(rows) == hashlib.sha256(canonical.encode()).hexdigest()
    looped: dict = {"n": 1}
    looped["self"] = looped
    with pytest.raises(ConfigError, match="contain themselves"):
        LoadDataFromDicts(data=[looped]).dump()


def test_the_loaders_replica_reads_the_record_and_manifest_only_the_driver_checks_every_column(
        tmp_path: Path) -> None:
    # The driver checks the stored rows at the start of each run; the loader's replica, which starts
    # right after, must not decode them all a second time (80 MB at 10M numbers) before its first batch.
    store = Store(tmp_path)
    load = LoadDataFromDicts(name="load", data=ROWS, batch_size=20)
    load.store_inline_data(store)
    copy = pickle.loads(cloudpickle.dumps(load))
    manifest = store.manifest(inline.recorded_object(store, copy.data["inline_rows"], "load"))
    assert manifest is not None
    pieces = {digest for parts in manifest[1].values() for digest, _, _ in parts}
    next(p for p in (tmp_path / "objects").rglob("*.arrow") if p.stem in pieces).unlink()  # a column lost
    assert [rows for rows, _, _ in copy.stored_slices(store)] == [20, 20, 10], "slices from the manifest alone"
    with pytest.raises(ConfigError, match="no longer has"):
        inline.stored_object(store, copy.data["inline_rows"], "load")  # the driver's check finds it
