"""Paging a leaf's Parquet files batch by batch: offsets across batches and files, search, failed rows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from synthgen.errors import CacheError
from synthgen.view import rows


def leaf(tmp_path: Path, files: list[list[dict[str, Any]]]) -> list[Path]:
    folder = tmp_path / "data" / "leaf"
    folder.mkdir(parents=True)
    for i, part in enumerate(files, 1):
        pq.write_table(pa.Table.from_pylist(part), folder / f"{i:05d}.parquet")
    return rows.leaf_files(tmp_path, "leaf")


def row(i: int) -> dict[str, Any]:
    failed = i % 7 == 3
    return {"instruction": f"Question {i}", "generations": [f"answer {i}", "Needle" if i == 12 else "hay"],
            "synthgen_metadata": {"error_gen": "HTTP 500" if failed else None, "model_name_gen": "m"}}


@pytest.fixture
def files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    monkeypatch.setattr(rows, "SCAN_ROWS", 4)  # pages cross record batches and files
    return leaf(tmp_path, [[row(i) for i in range(0, 10)], [row(i) for i in range(10, 25)]])


def test_a_page_holds_its_rows_with_their_numbers_across_batches_and_files(files: list[Path]) -> None:
    page = rows.read_page(files, offset=8, limit=5)
    assert [i for i, _ in page.rows] == [8, 9, 10, 11, 12]
    assert [r["instruction"] for _, r in page.rows] == [f"Question {i}" for i in range(8, 13)]
    assert (page.matched, page.total) == (25, 25)
    assert page.columns == ["instruction", "generations", "synthgen_metadata"]


def test_failed_rows_are_those_with_an_error_in_their_metadata(files: list[Path]) -> None:
    page = rows.read_page(files, 0, 100, failed_only=True)
    assert [i for i, _ in page.rows] == [3, 10, 17, 24] and page.matched == 4


def test_search_looks_in_text_and_list_of_text_columns_ignoring_case(files: list[Path]) -> None:
    assert [i for i, _ in rows.read_page(files, 0, 100, search="needle").rows] == [12]
    assert [i for i, _ in rows.read_page(files, 0, 100, search="question 2").rows] == [2, 20, 21, 22, 23, 24]
    both = rows.read_page(files, 1, 2, search="question 2", failed_only=True)
    assert both.rows == [] and both.matched == 1, "row 24 is the only failed match; offset 1 is past it"


def test_a_page_past_the_end_is_empty(files: list[Path]) -> None:
    page = rows.read_page(files, 100, 10)
    assert page.rows == [] and page.matched == 25


def test_a_leaf_without_metadata_has_no_failed_rows(tmp_path: Path) -> None:
    files = leaf(tmp_path, [[{"text": "a"}, {"text": None}]])
    assert rows.read_page(files, 0, 10, failed_only=True).matched == 0
    assert rows.read_page(files, 0, 10, search="A").matched == 1


@pytest.mark.parametrize("name", ["missing", "..", "a/b"])
def test_a_leaf_without_data_is_a_clear_error(tmp_path: Path, name: str) -> None:
    with pytest.raises(CacheError, match=f"no data for leaf '{name}' in .*: its run has not written it yet"):
        rows.leaf_files(tmp_path, name)
