"""The modules distilabel users import their types from exist under the same names."""

from __future__ import annotations


def test_synthgen_typing_has_distilabels_names() -> None:
    from synthgen import typing as t

    assert set(t.__all__) >= {"StepColumns", "StepOutput", "GeneratorStepOutput", "ChatType", "ChatItem",
                              "FormattedInput", "GenerateOutput", "StandardInput", "StructuredOutputType"}
    assert all(hasattr(t, name) for name in t.__all__)


def test_steps_typing_is_what_steps_use() -> None:
    from synthgen.steps import base
    from synthgen.steps.typing import StepColumns, StepOutput

    assert StepOutput is base.StepOutput
    assert StepColumns.__args__ == (list[str], dict[str, bool])  # type: ignore[attr-defined]


def test_a_step_annotated_with_them_runs() -> None:
    from synthgen.steps import Step, StepInput
    from synthgen.typing import StepColumns, StepOutput

    class Upper(Step):
        @property
        def inputs(self) -> StepColumns:
            return ["text"]

        def process(self, *inputs: StepInput) -> StepOutput:
            yield [{"text": r["text"].upper()} for r in inputs[0]]

    assert next(Upper().process([{"text": "a"}])) == [{"text": "A"}]
