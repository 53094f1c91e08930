"""ComplexityScorer: one score per instruction, read by item number."""

from __future__ import annotations

from synthgen.tasks.complexity_scorer import ComplexityScorer
from tests.tasks.scripted import ScriptedLLM, run_task


def test_columns_are_distilabels() -> None:
    task = ComplexityScorer(llm=ScriptedLLM(answers=["x"]))
    assert task.inputs == ["instructions"] and task.outputs == ["scores", "model_name"]


def test_the_prompt_numbers_the_instructions() -> None:
    [message] = ComplexityScorer(llm=ScriptedLLM(answers=["x"])).format_input({"instructions": ["Add 1+1.", "Prove it."]})
    assert "## Instruction 1\nAdd 1+1.\n" in message["content"] and "## Instruction 2\nProve it.\n" in message["content"]
    assert message["content"].rstrip().endswith("## Scores")


def test_scores_are_never_shifted_and_malformed_answers_are_row_errors() -> None:
    task = ComplexityScorer(name="c", llm=ScriptedLLM(answers=["[1] Score: 1\n[3] Score: 6", "1: easy, 2: hard"]))
    out = run_task(task, [{"instructions": ["a", "b", "c"]}, {"instructions": ["a", "b"]}])
    assert out[0]["scores"] == [1.0, None, 6.0]
    assert out[1]["scores"] is None and out[1]["synthgen_metadata"]["raw_output_c"] == "1: easy, 2: hard"
