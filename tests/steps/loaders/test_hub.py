from __future__ import annotations

from typing import Any

import datasets
import pytest

from synthgen.errors import ConfigError
from synthgen.steps.loaders import LoadDataFromHub

ROWS = [{"n": i} for i in range(5)]


@pytest.fixture
def fake_load_dataset(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = []

    def load_dataset(path: str, name: str | None = None, **kwargs: Any) -> Any:
        calls.append({"path": path, "name": name, **kwargs})
        if path == "missing/repo":
            raise FileNotFoundError(f"Dataset '{path}' doesn't exist on the Hub")
        dataset = datasets.Dataset.from_list(ROWS)
        return dataset.to_iterable_dataset() if kwargs.get("streaming") else dataset

    monkeypatch.setattr(datasets, "load_dataset", load_dataset)
    return calls


def _read(step: LoadDataFromHub, offset: int = 0) -> list[tuple[list[dict], bool]]:
    step.load()
    try:
        return list(step.process(offset))
    finally:
        step.unload()


@pytest.mark.parametrize("streaming", [False, True], ids=["downloaded", "streaming"])
def test_reads_the_split_in_batches_with_offset_and_limit(fake_load_dataset: list, streaming: bool) -> None:
    step = LoadDataFromHub(repo_id="org/data", streaming=streaming, batch_size=2)
    assert _read(step) == [(ROWS[:2], False), (ROWS[2:4], False), (ROWS[4:], True)]
    step = LoadDataFromHub(repo_id="org/data", streaming=streaming, num_examples=4, batch_size=2)
    assert _read(step, offset=1) == [(ROWS[1:3], False), ([ROWS[3]], True)]


def test_passes_config_split_revision_and_streaming_to_load_dataset(fake_load_dataset: list) -> None:
    _read(LoadDataFromHub(repo_id="org/data", config="sub", split="test", revision="v1"))
    assert fake_load_dataset == [
        {"path": "org/data", "name": "sub", "split": "test", "revision": "v1", "streaming": False}
    ]


def test_unloadable_dataset_is_a_config_error_naming_repo_and_split(fake_load_dataset: list) -> None:
    with pytest.raises(ConfigError, match="cannot load split 'train' of 'missing/repo'.*doesn't exist"):
        LoadDataFromHub(repo_id="missing/repo", name="hub").load()


def test_local_dataset_folder_loads_without_network(tmp_path: Any) -> None:
    (tmp_path / "train.jsonl").write_text('{"n": 0}\n{"n": 1}\n')
    assert _read(LoadDataFromHub(repo_id=str(tmp_path))) == [([{"n": 0}, {"n": 1}], True)]


def test_columns_are_unknown_before_loading() -> None:
    assert LoadDataFromHub(repo_id="org/data").columns_after(set()) is None
