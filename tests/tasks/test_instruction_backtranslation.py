"""InstructionBacktranslation: reasoning, then ``Score: N`` on 1-5."""

from __future__ import annotations

import pytest

from synthgen.tasks.instruction_backtranslation import InstructionBacktranslation, parse_score
from tests.tasks.scripted import ScriptedLLM, run_task


def test_columns_and_prompt() -> None:
    task = InstructionBacktranslation(llm=ScriptedLLM(answers=["x"]))
    assert task.inputs == ["instruction", "generation"] and task.outputs == ["score", "reason", "model_name"]
    [message] = task.format_input({"instruction": "Q?", "generation": "A."})
    assert "## Instruction\n\nQ?\n" in message["content"] and '"Score: <rating>"' in message["content"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [("Clear and complete.\nScore: 5", {"score": 5, "reason": "Clear and complete."}),
     ("Score: 2 is too low... on reflection\nScore: 4/5", {"score": 4, "reason": "Score: 2 is too low... on reflection"}),
     ("**Score:** 3", {"score": 3, "reason": None})],
)
def test_the_last_score_line_is_the_verdict(text: str, expected: dict[str, object]) -> None:
    assert parse_score(text) == expected


@pytest.mark.parametrize(("text", "message"), [("Good answer, a four.", "no 'Score: N' line"),
                                               ("Score: 4.5", "not an integer from 1 to 5"),
                                               ("Score: 7", "not an integer from 1 to 5")])
def test_malformed_answers_are_errors(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_score(text)


def test_rows() -> None:
    task = InstructionBacktranslation(llm=ScriptedLLM(answers=["Fine.\nScore: 3", "meh"]), name="ib")
    out = run_task(task, [{"instruction": "a", "generation": "b"}] * 2)
    assert [(r["score"], r["reason"]) for r in out] == [(3, "Fine."), (None, None)]
    assert out[1]["synthgen_metadata"]["raw_output_ib"] == "meh"
