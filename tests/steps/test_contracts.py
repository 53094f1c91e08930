"""Every built-in step passes the contract that synthgen.testing gives plugin authors."""

from __future__ import annotations

import functools
import json
import tempfile
from pathlib import Path

from synthgen.steps.columns import CombineOutputs, ExpandColumns, GroupColumns, KeepColumns
from synthgen.steps.dedup import DeduplicateExact, MinHashDedup
from synthgen.steps.filtering import FilterRows
from synthgen.steps.formatting import FormatTextGenerationDPO, FormatTextGenerationSFT
from synthgen.steps.loaders import (
    LoadDataFromDicts,
    LoadDataFromDisk,
    LoadDataFromFileSystem,
    LoadDataFromHub,
)
from synthgen.testing.contracts import StepContract

ROWS = [{"instruction": f"q{i}", "text": f"text number {i}", "n": i} for i in range(3)]


@functools.lru_cache(maxsize=1)
def _data_dir() -> Path:
    import datasets

    root = Path(tempfile.mkdtemp(prefix="synthgen-contract-"))
    (root / "hub").mkdir()
    (root / "hub" / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    datasets.Dataset.from_list(ROWS).save_to_disk(str(root / "disk"))
    return root


def is_even(row: dict) -> bool:
    return row["n"] % 2 == 0


class TestLoadDataFromDicts(StepContract):
    step_factory = staticmethod(lambda: LoadDataFromDicts(data=ROWS, batch_size=2))


class TestLoadDataFromFileSystem(StepContract):
    step_factory = staticmethod(lambda: LoadDataFromFileSystem(data_files=str(_data_dir() / "hub" / "train.jsonl"),
                                                               storage_options={"token": "hf_secret_123"}))
    secret_values = ("hf_secret_123",)


class TestLoadDataFromHub(StepContract):
    step_factory = staticmethod(lambda: LoadDataFromHub(repo_id=str(_data_dir() / "hub")))


class TestLoadDataFromDisk(StepContract):
    step_factory = staticmethod(lambda: LoadDataFromDisk(dataset_path=str(_data_dir() / "disk")))


class TestKeepColumns(StepContract):
    step_factory = staticmethod(lambda: KeepColumns(columns=["n", "text"]))
    sample_inputs = [ROWS]


class TestCombineOutputs(StepContract):
    step_factory = CombineOutputs
    sample_inputs = [ROWS, [{"extra": i} for i in range(3)]]


class TestExpandColumns(StepContract):
    step_factory = staticmethod(lambda: ExpandColumns(columns={"gens": "gen"}, split_statistics=True))
    sample_inputs = [[{"gens": ["a", "b"]}, {"gens": ["c"]}]]


class TestGroupColumns(StepContract):
    step_factory = staticmethod(lambda: GroupColumns(columns=["text"], output_columns=["texts"]))
    sample_inputs = [ROWS, ROWS]
    changed_values = {"columns": ["title"], "output_columns_": ["titles"]}  # one output name per column


class TestFilterRowsExpression(StepContract):
    step_factory = staticmethod(lambda: FilterRows(condition="n % 2 == 0 and len(text) > 3"))
    sample_inputs = [ROWS]
    changed_values = {"condition": "n > 1"}


class TestFilterRowsCallable(StepContract):
    step_factory = staticmethod(lambda: FilterRows(condition=is_even))
    sample_inputs = [ROWS]
    changed_values = {"condition": "n > 1"}


class TestDeduplicateExact(StepContract):
    step_factory = staticmethod(lambda: DeduplicateExact(columns=["text"]))
    sample_inputs = [ROWS + ROWS]


class TestMinHashDedup(StepContract):
    step_factory = MinHashDedup
    sample_inputs = [ROWS + ROWS]


class TestFormatTextGenerationSFT(StepContract):
    step_factory = FormatTextGenerationSFT
    sample_inputs = [[{"instruction": "q", "generation": "a"}]]


class TestFormatTextGenerationDPO(StepContract):
    step_factory = FormatTextGenerationDPO
    sample_inputs = [[{"instruction": "q", "generations": ["a", "b"], "ratings": [1, 2], "generation_models": ["x", "y"]}]]


class TestLoadDataFromDiskWithCredentials(StepContract):
    step_factory = staticmethod(lambda: LoadDataFromDisk(dataset_path=str(_data_dir() / "disk"),
                                                         storage_options={"secret": "aws_secret_456"}))
    secret_values = ("aws_secret_456",)
