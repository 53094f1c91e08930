from __future__ import annotations

import datasets
import pandas as pd
import pytest

from synthgen.errors import ConfigError
from synthgen.steps.loaders import LoadDataFromDicts, rows_from_dataset
from synthgen.steps.loaders.inline import content_hash


def _run(step: LoadDataFromDicts, offset: int = 0) -> list[tuple[list[dict], bool]]:
    step.load()
    out = list(step.process(offset))
    step.unload()
    return out


def test_yields_rows_in_order_with_last_batch_flag_on_final_batch_only() -> None:
    data = [{"n": i} for i in range(5)]
    batches = _run(LoadDataFromDicts(data=data, batch_size=2))
    assert [rows for rows, _ in batches] == [[{"n": 0}, {"n": 1}], [{"n": 2}, {"n": 3}], [{"n": 4}]]
    assert [last for _, last in batches] == [False, False, True]


def test_exact_multiple_of_batch_size_marks_the_last_full_batch() -> None:
    batches = _run(LoadDataFromDicts(data=[{"n": i} for i in range(4)], batch_size=2))
    assert [last for _, last in batches] == [False, True]
    assert len(batches[-1][0]) == 2


def test_empty_data_yields_one_empty_last_batch() -> None:
    assert _run(LoadDataFromDicts(data=[])) == [([], True)]


def test_offset_skips_rows_already_emitted() -> None:
    batches = _run(LoadDataFromDicts(data=[{"n": i} for i in range(5)], batch_size=2), offset=3)
    assert batches == [([{"n": 3}, {"n": 4}], True)]


def test_rows_are_copies_so_downstream_mutation_does_not_change_data() -> None:
    step = LoadDataFromDicts(data=[{"n": 1}])
    rows, _ = _run(step)[0]
    rows[0]["n"] = 99
    assert step.data == [{"n": 1}]


def test_outputs_are_the_data_columns_in_first_appearance_order() -> None:
    step = LoadDataFromDicts(data=[{"b": 1, "a": 2}, {"c": 3, "a": 4}])
    assert step.outputs == ["b", "a", "c"]
    assert step.columns_after(set()) == {"a", "b", "c"}


def test_batch_size_is_a_runtime_parameter_outside_the_fingerprint() -> None:
    step = LoadDataFromDicts(data=[{"n": 1}])
    step.set_runtime_parameters({"batch_size": 7})
    assert step.batch_size == 7
    assert "batch_size" not in step.fingerprint_params()
    # The rows are named by their content hash (issue 19: inline rows are data, not configuration).
    assert step.fingerprint_params()["data"]["inline_rows"] == content_hash([{"n": 1}])


@pytest.mark.parametrize(
    "dataset",
    [
        [{"a": 1, "b": "x"}, {"a": 2, "b": "y"}],
        datasets.Dataset.from_list([{"a": 1, "b": "x"}, {"a": 2, "b": "y"}]),
        pd.DataFrame({"a": [1, 2], "b": ["x", "y"]}),
    ],
    ids=["list", "datasets", "pandas"],
)
def test_rows_from_dataset_accepts_list_dataset_and_dataframe(dataset: object) -> None:
    rows = rows_from_dataset(dataset)
    assert rows == [{"a": 1, "b": "x"}, {"a": 2, "b": "y"}]
    assert type(rows[0]["a"]) is int


@pytest.mark.parametrize(
    ("dataset", "message"),
    [
        ("rows.jsonl", "dataset= got str: expected a datasets.Dataset, a list of dicts or a pandas DataFrame"),
        ({"a": [1]}, "dataset= got dict: expected a datasets.Dataset, a list of dicts or a pandas DataFrame"),
        ([{"a": 1}, 2], "dataset= list item 1 is int, not a dict"),
        (datasets.DatasetDict({"train": datasets.Dataset.from_list([{"a": 1}])}),
         "got a DatasetDict with splits train: pass one split, e.g. dataset['train']"),
    ],
    ids=["str", "dict", "list-of-non-dicts", "datasetdict"],
)
def test_rows_from_dataset_rejects_other_types_naming_the_accepted_ones(dataset: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        rows_from_dataset(dataset)
