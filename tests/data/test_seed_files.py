"""The bundled seed files the built-in pipelines read: present as package data, well-formed, varied."""

from __future__ import annotations

import json
from importlib import resources

import pytest


def read_rows(name: str) -> list[dict[str, str]]:
    text = resources.files("synthgen").joinpath("data").joinpath(name).read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@pytest.mark.parametrize(
    ("name", "column", "at_least"),
    [("instructions.jsonl", "instruction", 30), ("topics.jsonl", "input", 25)],
)
def test_seed_file_has_one_distinct_non_empty_column_per_row(name: str, column: str, at_least: int) -> None:
    rows = read_rows(name)
    assert len(rows) >= at_least
    assert all(list(row) == [column] for row in rows)
    values = [row[column] for row in rows]
    assert all(isinstance(v, str) and v.strip() == v and v for v in values)
    assert len(set(values)) == len(values)
