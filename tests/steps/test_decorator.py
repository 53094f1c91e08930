"""``@step``: columns keep their required flags, and the planner honours them."""

from __future__ import annotations

import pytest

from synthgen import Pipeline, StepInput, step
from synthgen.errors import PlanError
from synthgen.steps import LoadDataFromDicts


@step(inputs={"instruction": True, "context": False}, outputs=["answer"])
def Answer(inputs: StepInput):  # type: ignore[no-untyped-def]
    yield [{**row, "answer": f"{row['instruction']} / {row.get('context')}"} for row in inputs]


def test_a_dict_of_inputs_keeps_the_optional_flag() -> None:
    assert Answer(name="a").input_columns() == {"instruction": True, "context": False}
    assert Answer(name="a").output_columns() == ["answer"]


def test_an_optional_input_no_upstream_step_produces_is_accepted_and_a_required_one_is_not(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with Pipeline(name="optional", cache_dir=str(tmp_path)) as pipeline:
        LoadDataFromDicts(data=[{"instruction": "q"}]) >> Answer(name="answer")
    rows = pipeline.run(use_cache=False)["default"]["train"].to_list()
    assert rows[0]["answer"] == "q / None"

    with Pipeline(name="required", cache_dir=str(tmp_path)) as pipeline:
        LoadDataFromDicts(data=[{"context": "c"}]) >> Answer(name="answer")
    with pytest.raises(PlanError, match="step 'answer' needs input column\\(s\\) 'instruction'"):
        pipeline.run(use_cache=False)
