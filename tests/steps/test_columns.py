from __future__ import annotations

import pytest

from synthgen.errors import ConfigError, StepError
from synthgen.steps.base import Step
from synthgen.steps.columns import CombineOutputs, ExpandColumns, GroupColumns, KeepColumns


def _run(step: Step, *inputs: list[dict]) -> list[list[dict]]:
    step.load()
    try:
        return list(step.process(*inputs))
    finally:
        step.unload()


# ---- KeepColumns -------------------------------------------------------------------------------
def test_keep_columns_keeps_exactly_the_columns_in_the_given_order() -> None:
    rows = [{"a": 1, "b": 2, "c": 3, "synthgen_metadata": {"x": 1}}]
    out = _run(KeepColumns(columns=["c", "a"]), rows)
    assert out == [[{"c": 3, "a": 1}]]
    assert list(out[0][0]) == ["c", "a"]


def test_keep_columns_columns_after_is_exactly_the_columns() -> None:
    step = KeepColumns(columns=["a", "b"])
    assert step.columns_after({"a", "b", "c"}) == {"a", "b"}
    assert step.columns_after(None) == {"a", "b"}
    assert step.inputs == ["a", "b"]


def test_keep_columns_missing_column_names_it_and_the_row_columns() -> None:
    with pytest.raises(StepError, match="row has no column 'aa' — did you mean 'a'\\? Row columns: a, b"):
        _run(KeepColumns(columns=["aa"], name="keep"), [{"a": 1, "b": 2}])


# ---- CombineOutputs ----------------------------------------------------------------------------
def test_combine_outputs_merges_rows_by_position_later_predecessor_wins() -> None:
    left = [{"id": 1, "x": "a", "shared": "left"}, {"id": 2, "x": "b", "shared": "left"}]
    right = [{"id": 1, "y": "c", "shared": "right"}, {"id": 2, "y": "d", "shared": "right"}]
    assert _run(CombineOutputs(), left, right) == [[
        {"id": 1, "x": "a", "shared": "right", "y": "c"},
        {"id": 2, "x": "b", "shared": "right", "y": "d"},
    ]]


def test_combine_outputs_merges_metadata_dicts() -> None:
    left = [{"a": 1, "synthgen_metadata": {"raw_output_gen": "x", "k": 1}}]
    right = [{"b": 2, "synthgen_metadata": {"raw_output_judge": "y", "k": 2}}]
    row = _run(CombineOutputs(), left, right)[0][0]
    assert row["synthgen_metadata"] == {"raw_output_gen": "x", "raw_output_judge": "y", "k": 2}


def test_combine_outputs_adds_no_metadata_when_none_was_present() -> None:
    assert _run(CombineOutputs(), [{"a": 1}], [{"b": 2}]) == [[{"a": 1, "b": 2}]]


def test_combine_outputs_rejects_batches_of_different_sizes() -> None:
    with pytest.raises(StepError, match=r"different sizes \(input 0: 2, input 1: 1\)"):
        _run(CombineOutputs(name="combine"), [{"a": 1}, {"a": 2}], [{"b": 1}])


def test_combine_outputs_columns_after_is_the_union_of_incoming() -> None:
    assert CombineOutputs().columns_after({"a", "b"}) == {"a", "b"}


# ---- ExpandColumns -----------------------------------------------------------------------------
def test_expand_columns_emits_one_row_per_element() -> None:
    rows = [{"id": 1, "generations": ["a", "b"]}, {"id": 2, "generations": ["c"]}]
    assert _run(ExpandColumns(columns=["generations"]), rows) == [[
        {"id": 1, "generations": "a"}, {"id": 1, "generations": "b"}, {"id": 2, "generations": "c"},
    ]]


def test_expand_columns_with_mapping_renames_and_zips_several_columns() -> None:
    rows = [{"id": 1, "generations": ["a", "b"], "models": ["m1", "m2"]}]
    step = ExpandColumns(columns={"generations": "generation", "models": "model"})
    assert _run(step, rows) == [[
        {"id": 1, "generation": "a", "model": "m1"}, {"id": 1, "generation": "b", "model": "m2"},
    ]]
    assert step.columns_after({"id", "generations", "models"}) == {"id", "generation", "model"}


@pytest.mark.parametrize(
    ("value", "expected"),
    [([], []), (None, [{"id": 1, "g": None}])],
    ids=["empty-list-drops-row", "none-keeps-row"],
)
def test_expand_columns_empty_and_none(value: object, expected: list[dict]) -> None:
    assert _run(ExpandColumns(columns=["g"]), [{"id": 1, "g": value}]) == [expected]


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"g": "abc"}, "column 'g' holds a str, not a list: ExpandColumns expands list columns only"),
        ({"g": [1, 2], "h": [1]}, r"cannot expand lists of different lengths in one row \(g=2, h=1\)"),
        ({"x": [1]}, "row has no column 'g'. Row columns: x"),
    ],
    ids=["not-a-list", "different-lengths", "missing-column"],
)
def test_expand_columns_errors_name_the_column(row: dict, message: str) -> None:
    columns = ["g", "h"] if "h" in row else ["g"]
    with pytest.raises(StepError, match=message):
        _run(ExpandColumns(columns=columns, name="expand"), [row])


def test_expand_columns_copies_metadata_unless_split_statistics() -> None:
    meta = {"statistics_gen": {"input_tokens": [10, 20], "output_tokens": 7}, "raw_output_gen": "r"}
    rows = [{"g": ["a", "b"], "synthgen_metadata": meta}]
    copied = _run(ExpandColumns(columns=["g"]), rows)[0]
    assert [r["synthgen_metadata"] for r in copied] == [meta, meta]
    split = _run(ExpandColumns(columns=["g"], split_statistics=True), rows)[0]
    assert [r["synthgen_metadata"]["statistics_gen"] for r in split] == [
        {"input_tokens": [10], "output_tokens": 4}, {"input_tokens": [20], "output_tokens": 3},
    ]
    assert split[0]["synthgen_metadata"]["raw_output_gen"] == "r"


# ---- GroupColumns ------------------------------------------------------------------------------
def test_group_columns_groups_values_across_predecessors() -> None:
    a = [{"instruction": "q", "generation": "x", "model_name": "m1"}]
    b = [{"instruction": "q", "generation": "y", "model_name": "m2"}]
    out = _run(GroupColumns(columns=["generation", "model_name"]), a, b)
    assert out == [[{"instruction": "q", "grouped_generation": ["x", "y"], "grouped_model_name": ["m1", "m2"]}]]


def test_group_columns_output_columns_rename_and_columns_after() -> None:
    step = GroupColumns(columns=["generation", "model_name"], output_columns=["generations", "generation_models"])
    out = _run(step, [{"generation": "x", "model_name": "m1"}], [{"generation": "y", "model_name": "m2"}])
    assert out == [[{"generations": ["x", "y"], "generation_models": ["m1", "m2"]}]]
    assert step.columns_after({"instruction", "generation", "model_name"}) == {
        "instruction", "generations", "generation_models"
    }
    assert step.dump()["output_columns"] == ["generations", "generation_models"]


def test_group_columns_merges_metadata() -> None:
    out = _run(GroupColumns(columns=["g"]), [{"g": 1, "synthgen_metadata": {"a": 1}}],
               [{"g": 2, "synthgen_metadata": {"b": 2}}])
    assert out[0][0]["synthgen_metadata"] == {"a": 1, "b": 2}


def test_group_columns_output_columns_length_must_match() -> None:
    with pytest.raises(ConfigError, match="output_columns has 1 names for 2 columns: give one output name per column"):
        GroupColumns(columns=["a", "b"], output_columns=["x"])


def test_group_columns_rejects_batches_of_different_sizes() -> None:
    with pytest.raises(StepError, match="different sizes"):
        _run(GroupColumns(columns=["g"]), [{"g": 1}], [])


@pytest.mark.parametrize("make", [lambda: KeepColumns(columns=[]), lambda: ExpandColumns(columns=[]),
                                  lambda: GroupColumns(columns=[])], ids=["keep", "expand", "group"])
def test_column_steps_need_at_least_one_column(make) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="at least 1 item"):
        make()


# ---- CombineColumns (distilabel's name) --------------------------------------------------------
def test_combine_columns_groups_columns_of_predecessors_as_merged_lists() -> None:
    from synthgen.steps import CombineColumns

    step = CombineColumns(columns=["generation", "model_name"])
    assert step.outputs == ["merged_generation", "merged_model_name"]
    out = _run(step, [{"i": 1, "generation": "a", "model_name": "m1"}], [{"i": 1, "generation": "b", "model_name": "m2"}])
    assert out == [[{"i": 1, "merged_generation": ["a", "b"], "merged_model_name": ["m1", "m2"]}]]


def test_combine_columns_takes_output_columns_and_is_registered() -> None:
    from synthgen.plugins import get_registry
    from synthgen.steps import CombineColumns, CombineOutputs

    step = CombineColumns(columns="generation", output_columns="generations")
    assert step.outputs == ["generations"]
    assert step.dump()["output_columns"] == ["generations"]
    assert get_registry().get_step("combine_columns") is CombineColumns
    assert get_registry().get_step("combine_outputs") is CombineOutputs
