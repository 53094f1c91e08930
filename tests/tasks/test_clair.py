"""CLAIR: the teacher's reasoning and the minimally corrected solution."""

from __future__ import annotations

import pytest

from synthgen.tasks.clair import CLAIR, parse_revision
from tests.tasks.scripted import ScriptedLLM, run_task


def test_columns_and_prompt() -> None:
    task = CLAIR(llm=ScriptedLLM(answers=["x"]))
    assert task.inputs == ["task", "student_solution"] and task.outputs == ["revision", "rational", "model_name"]
    system, user = task.format_input({"task": "2+2?", "student_solution": "5"})
    assert "teacher" in system["content"]
    assert "## Task\n\n2+2?\n" in user["content"] and "## Student Solution\n\n5\n" in user["content"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [("Teacher Reasoning:\nThe sum is wrong.\n\nCorrected Student Solution:\n4",
      {"revision": "4", "rational": "The sum is wrong."}),
     ("**Corrected Student Solution:** 4", {"revision": "4", "rational": None})],
)
def test_well_formed_answers(text: str, expected: dict[str, str | None]) -> None:
    assert parse_revision(text) == expected


@pytest.mark.parametrize(("text", "message"), [("The answer should be 4.", "no 'Corrected Student Solution:'"),
                                               ("Teacher Reasoning: x\nCorrected Student Solution:\n  ", "is empty")])
def test_malformed_answers_are_errors(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_revision(text)


def test_a_malformed_answer_keeps_the_row() -> None:
    out = run_task(CLAIR(llm=ScriptedLLM(answers=["Looks fine to me."]), name="c"), [{"task": "t", "student_solution": "s"}])
    assert out[0]["revision"] is None and out[0]["synthgen_metadata"]["raw_output_c"] == "Looks fine to me."
