"""MergeColumns: list values extended, other values appended, in column order."""

from __future__ import annotations

import pytest

from synthgen.errors import StepError
from synthgen.steps.merge import MergeColumns


def test_columns_are_merged_into_one_list() -> None:
    step = MergeColumns(columns=["queries", "more", "one"], output_column="all")
    [row] = next(step.process([{"queries": ["a", "b"], "more": ["c"], "one": "d"}]))
    assert row["all"] == ["a", "b", "c", "d"] and row["queries"] == ["a", "b"]
    assert step.inputs == ["queries", "more", "one"] and step.outputs == ["all"]


def test_the_default_output_column_is_distilabels() -> None:
    assert MergeColumns(columns=["a"]).outputs == ["merged_column"]


def test_a_missing_column_is_a_clear_error() -> None:
    with pytest.raises(StepError, match="row has no column 'b'"):
        next(MergeColumns(columns=["a", "b"]).process([{"a": 1}]))
