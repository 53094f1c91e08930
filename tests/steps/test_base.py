"""The step base: one column name is accepted wherever a list of column names goes (as in distilabel)."""

from __future__ import annotations

import pytest

from synthgen.errors import ConfigError
from synthgen.steps.base import string_list_fields
from synthgen.steps.columns import ExpandColumns, GroupColumns, KeepColumns
from synthgen.steps.dedup import DeduplicateExact
from synthgen.steps.loaders import LoadDataFromFileSystem
from synthgen.tasks import TextGeneration
from synthgen.testing.fake_llm import FakeLLM


def test_text_generation_takes_one_column_as_a_string() -> None:
    task = TextGeneration(columns="page", llm=FakeLLM())
    assert task.columns == ["page"]
    assert task.input_columns() == {"page": True}


@pytest.mark.parametrize(
    ("make", "attribute", "expected"),
    [
        (lambda: KeepColumns(columns="a"), "columns", ["a"]),
        (lambda: GroupColumns(columns="g", output_columns="gs"), "outputs", ["gs"]),
        (lambda: DeduplicateExact(columns="x"), "columns", ["x"]),
        (lambda: ExpandColumns(columns="xs"), "columns", {"xs": "xs"}),
    ],
)
def test_column_list_parameters_take_a_string(make: object, attribute: str, expected: object) -> None:
    assert getattr(make(), attribute) == expected  # type: ignore[operator]


def test_a_string_set_at_run_time_becomes_a_list_too() -> None:
    step = KeepColumns(columns=["a", "b"])
    step.columns = "c"  # type: ignore[assignment]
    assert step.columns == ["c"]


def test_a_parameter_that_takes_a_string_keeps_it() -> None:
    # data_files is `str | list[str]`: a string means something of its own (a glob), it is not wrapped.
    assert "data_files" not in string_list_fields(LoadDataFromFileSystem)


def test_the_fingerprint_of_a_string_and_of_its_one_element_list_is_the_same() -> None:
    from synthgen.plan import step_fingerprint

    assert step_fingerprint(KeepColumns(columns="a", name="k")) == step_fingerprint(KeepColumns(columns=["a"], name="k"))


def test_other_wrong_types_still_fail_with_a_validation_error() -> None:
    with pytest.raises(Exception, match="valid list"):
        KeepColumns(columns=3)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="at least one input column"):
        TextGeneration(columns=[], llm=FakeLLM())
