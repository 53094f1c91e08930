"""``Pipeline.run(dataset=...)``: rows fed to the first steps without a loader, as in distilabel."""

from __future__ import annotations

from pathlib import Path

import pytest

from synthgen import Pipeline
from synthgen.errors import PlanError
from synthgen.testing.steps import AddColumn, GenerateNumbers


def _rows(distiset) -> list[dict]:  # type: ignore[no-untyped-def]
    return distiset["default"]["train"].to_list()


def test_dataset_feeds_every_step_without_predecessors(tmp_path: Path) -> None:
    with Pipeline(name="two-roots", cache_dir=tmp_path) as p:
        AddColumn(name="double", factor=2, output="d")
        AddColumn(name="triple", factor=3, output="t")
    out = p.run(dataset=[{"n": i} for i in range(5)])
    assert sorted(out) == ["double", "triple"]
    assert [r["t"] for r in out["triple"]["train"].to_list()] == [0, 3, 6, 9, 12]
    assert [r["d"] for r in out["double"]["train"].to_list()] == [0, 2, 4, 6, 8]


def test_dataset_batch_size_sets_the_loaders_batches(tmp_path: Path) -> None:
    with Pipeline(name="ds-batches", cache_dir=tmp_path) as p:
        AddColumn(factor=1)
    p.run(dataset=[{"n": i} for i in range(7)], dataset_batch_size=3)
    loader = p.steps["load_data_from_dicts_0"]
    assert loader.batch_size == 3  # type: ignore[attr-defined]
    assert ("load_data_from_dicts_0", "add_column_0") in p.edges


def test_a_second_run_with_another_dataset_uses_the_new_rows(tmp_path: Path) -> None:
    with Pipeline(name="again", cache_dir=tmp_path) as p:
        AddColumn(factor=10)
    assert [r["out"] for r in _rows(p.run(dataset=[{"n": 1}]))] == [10]
    assert [r["out"] for r in _rows(p.run(dataset=[{"n": 2}, {"n": 3}]))] == [20, 30]
    assert sum(1 for n in p.steps if n.startswith("load_data_from_dicts")) == 1


def test_dataset_on_a_pipeline_with_a_generator_says_so(tmp_path: Path) -> None:
    with Pipeline(name="gen", cache_dir=tmp_path) as p:
        GenerateNumbers(count=3) >> AddColumn()
    with pytest.raises(PlanError, match="already has a generator step: pass `dataset=` only to pipelines without one"):
        p.run(dataset=[{"n": 1}])
