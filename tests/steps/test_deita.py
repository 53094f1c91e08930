"""DeitaFiltering: best DEITA score first, within the data budget, skipping rows too close to a kept one."""

from __future__ import annotations

from pathlib import Path

import pytest

from synthgen import Pipeline
from synthgen.errors import StepError
from synthgen.plugins import get_registry
from synthgen.steps import DeitaFiltering, LoadDataFromDicts

ROWS = [
    {"id": "a", "evol_instruction_score": 2.0, "evol_response_score": 3.0, "embedding": [1.0, 0.0]},   # 6
    {"id": "b", "evol_instruction_score": 3.0, "evol_response_score": 3.0, "embedding": [0.99, 0.1]},  # 9
    {"id": "c", "evol_instruction_score": 1.0, "evol_response_score": None, "embedding": [0.0, 1.0]},  # 1
    {"id": "d", "evol_instruction_score": None, "evol_response_score": None, "embedding": [-1.0, 0.0]},
]


def run(step: DeitaFiltering, rows: list[dict]) -> list[dict]:
    return [row for batch in step.process(rows) for row in batch]


def test_rows_come_best_first_and_a_near_copy_of_a_kept_row_is_skipped() -> None:
    kept = run(DeitaFiltering(name="deita", data_budget=10, diversity_threshold=0.5), ROWS)
    assert [r["id"] for r in kept] == ["b", "c"], "a is within 0.5 of b; d has no score"
    assert kept[0]["deita_score"] == 9.0 and kept[0]["nearest_neighbor_distance"] is None
    assert kept[1]["deita_score_computed_with"] == ["evol_instruction_score"]
    assert kept[1]["nearest_neighbor_distance"] == pytest.approx(1 - 0.1 / (0.99**2 + 0.01) ** 0.5)


def test_the_data_budget_caps_the_rows_kept() -> None:
    kept = run(DeitaFiltering(name="deita", data_budget=2, diversity_threshold=0.0), ROWS)
    assert [r["id"] for r in kept] == ["b", "a"]


def test_embeddings_of_different_lengths_fail_in_one_line() -> None:
    rows = [{**ROWS[0]}, {**ROWS[1], "embedding": [1.0, 0.0, 0.0]}]
    with pytest.raises(StepError, match="embeddings of different lengths"):
        run(DeitaFiltering(name="deita", data_budget=2), rows)


def test_registered_and_runs_in_a_pipeline(tmp_path: Path) -> None:
    assert "deita_filtering" in get_registry().steps
    with Pipeline(name="deita", cache_dir=tmp_path) as p:
        LoadDataFromDicts(name="load", data=ROWS) >> DeitaFiltering(name="deita", data_budget=3,
                                                                     diversity_threshold=0.5)
    rows = p.run()["default"]["train"]
    assert rows["id"] == ["b", "c"] and rows["deita_score"] == [9.0, 1.0]
