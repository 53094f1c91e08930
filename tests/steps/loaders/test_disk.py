from __future__ import annotations

from pathlib import Path

import datasets
import pytest

from synthgen.errors import ConfigError
from synthgen.steps.loaders import LoadDataFromDisk

ROWS = [{"n": i} for i in range(3)]


def _ds(rows: list[dict] = ROWS) -> datasets.Dataset:
    return datasets.Dataset.from_list(rows)


def _read(step: LoadDataFromDisk, offset: int = 0) -> list[tuple[list[dict], bool]]:
    step.load()
    try:
        return list(step.process(offset))
    finally:
        step.unload()


@pytest.fixture
def distiset(tmp_path: Path) -> Path:
    """The layout Distiset.save_to_disk writes: a DatasetDict folder per leaf step."""
    root = tmp_path / "distiset"
    datasets.DatasetDict({"train": _ds()}).save_to_disk(str(root / "default"))
    datasets.DatasetDict({"train": _ds([{"m": 9}])}).save_to_disk(str(root / "judge"))
    (root / "pipeline.yaml").write_text("pipeline: {}\n")
    return root


def test_reads_a_saved_dataset_in_batches_from_offset(tmp_path: Path) -> None:
    _ds().save_to_disk(str(tmp_path / "ds"))
    step = LoadDataFromDisk(dataset_path=str(tmp_path / "ds"), batch_size=2)
    assert _read(step) == [(ROWS[:2], False), (ROWS[2:], True)]
    assert _read(step, offset=2) == [(ROWS[2:], True)]


@pytest.mark.parametrize(("split", "expected"), [(None, ROWS), ("test", [{"n": 7}])], ids=["default-train", "named"])
def test_reads_a_split_of_a_saved_dataset_dict(tmp_path: Path, split: str | None, expected: list[dict]) -> None:
    datasets.DatasetDict({"train": _ds(), "test": _ds([{"n": 7}])}).save_to_disk(str(tmp_path / "dd"))
    assert _read(LoadDataFromDisk(dataset_path=str(tmp_path / "dd"), split=split)) == [(expected, True)]


@pytest.mark.parametrize(("config", "expected"), [(None, ROWS), ("judge", [{"m": 9}])], ids=["default", "named"])
def test_reads_a_config_of_a_saved_distiset(distiset: Path, config: str | None, expected: list[dict]) -> None:
    step = LoadDataFromDisk(dataset_path=str(distiset), config=config, is_distiset=True)
    assert _read(step) == [(expected, True)]


def test_a_distiset_with_one_leaf_needs_no_config(tmp_path: Path) -> None:
    datasets.DatasetDict({"train": _ds()}).save_to_disk(str(tmp_path / "d" / "only_leaf"))
    assert _read(LoadDataFromDisk(dataset_path=str(tmp_path / "d"))) == [(ROWS, True)]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"config": "nope"}, "config 'nope' not found. Available: default, judge"),
        ({"split": "test"}, "split 'test' not found. Available: train"),
    ],
    ids=["unknown-config", "unknown-split"],
)
def test_unknown_config_or_split_lists_the_available_ones(distiset: Path, kwargs: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        LoadDataFromDisk(dataset_path=str(distiset), **kwargs).load()


def test_several_leaves_without_default_ask_for_config(tmp_path: Path) -> None:
    for leaf in ("a", "b"):
        datasets.DatasetDict({"train": _ds()}).save_to_disk(str(tmp_path / "d" / leaf))
    with pytest.raises(ConfigError, match=r"several configs found \(a, b\): choose one with config="):
        LoadDataFromDisk(dataset_path=str(tmp_path / "d")).load()


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: None, "'.*nothing' does not exist: expected a folder written by Dataset.save_to_disk"),
        (lambda p: p.mkdir(), "'.*nothing' holds no saved dataset: expected a folder written by"),
    ],
    ids=["missing", "empty-folder"],
)
def test_missing_or_foreign_folder_says_what_was_expected(tmp_path: Path, make, message: str) -> None:
    make(tmp_path / "nothing")
    with pytest.raises(ConfigError, match=message):
        LoadDataFromDisk(dataset_path=str(tmp_path / "nothing")).load()


def test_config_for_a_plain_dataset_is_rejected(tmp_path: Path) -> None:
    _ds().save_to_disk(str(tmp_path / "ds"))
    with pytest.raises(ConfigError, match="is a saved dataset, not a Distiset: drop config="):
        LoadDataFromDisk(dataset_path=str(tmp_path / "ds"), config="default").load()


def test_dataset_path_accepts_a_path_object(tmp_path: Path) -> None:
    _ds().save_to_disk(str(tmp_path / "ds"))
    step = LoadDataFromDisk(dataset_path=tmp_path / "ds")
    assert step.dataset_path == str(tmp_path / "ds")
    assert _read(step) == [(ROWS, True)]


def test_the_planner_sees_the_saved_datasets_columns_without_keeping_it_open(tmp_path: Path) -> None:
    _ds().save_to_disk(str(tmp_path / "ds"))
    step = LoadDataFromDisk(name="load", dataset_path=str(tmp_path / "ds"))
    assert step.columns_after(set()) == {"n"}
    assert step._dataset is None, "the step still pickles light to its worker"
    assert LoadDataFromDisk(name="load", dataset_path=str(tmp_path / "none")).columns_after(set()) is None
