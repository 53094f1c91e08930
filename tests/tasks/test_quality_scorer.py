"""QualityScorer: the prompt numbers the responses, scores come back one per response, failures are kept."""

from __future__ import annotations

from synthgen.tasks.quality_scorer import QualityScorer
from synthgen.testing.fake_llm import FakeLLM
from tests.tasks.scripted import ScriptedLLM, run_task


def test_columns_are_distilabels() -> None:
    task = QualityScorer(llm=ScriptedLLM(answers=["x"]))
    assert task.inputs == ["instruction", "responses"]
    assert task.outputs == ["scores", "model_name"]


def test_the_prompt_shows_the_instruction_the_numbered_responses_and_the_format() -> None:
    task = QualityScorer(llm=ScriptedLLM(answers=["x"]), max_score=5)
    [message] = task.format_input({"instruction": "Why?", "responses": ["Because.", None]})
    assert "## Instruction\nWhy?\n" in message["content"]
    assert "## Response 1\nBecause.\n" in message["content"] and "## Response 2\n\n" in message["content"]
    assert "[2] Score: <score for response 2>" in message["content"] and "from 1 (poor) to 5" in message["content"]


def test_scores_per_response_with_a_missing_line_a_malformed_answer_and_a_failed_request() -> None:
    answers = ["[1] Score: 5\n[2] Score: 3", "[2] Score: 4", "The second one is better.", None]
    task = QualityScorer(name="q", llm=ScriptedLLM(answers=answers))
    rows = [{"instruction": f"Q{i}", "responses": ["a", "b"]} for i in range(4)]
    out = run_task(task, rows)
    assert [r["scores"] for r in out] == [[5.0, 3.0], [None, 4.0], None, None]
    malformed = out[2]["synthgen_metadata"]
    assert malformed["raw_output_q"] == "The second one is better."
    assert malformed["error_q"] == "could not parse the output: the answer has no '[1] Score: N' line"
    assert out[3]["synthgen_metadata"]["error_q"] == "boom"
    assert out[0]["synthgen_metadata"]["error_q"] is None


def test_a_backend_that_enforces_schemas_is_asked_for_exactly_one_score_per_response() -> None:
    llm = ScriptedLLM(answers=['{"scores": [2, 6, 3]}'], structured=True)
    [row] = run_task(QualityScorer(llm=llm), [{"instruction": "Q", "responses": ["a", "b", "c"]}])
    assert row["scores"] == [2.0, 6.0, 3.0]
    schema = llm.requests[0].schema
    assert schema is not None and schema["properties"]["scores"]["minItems"] == 3
    assert schema["properties"]["scores"]["items"]["enum"] == [1, 2, 3, 4, 5, 6]


def test_structured_output_can_be_turned_off() -> None:
    llm = ScriptedLLM(answers=["[1] Score: 2"], structured=True)
    [row] = run_task(QualityScorer(llm=llm, use_structured_output=False), [{"instruction": "Q", "responses": ["a"]}])
    assert row["scores"] == [2.0] and llm.requests[0].schema is None


def test_on_the_fake_llm_every_row_parses() -> None:
    out = run_task(QualityScorer(llm=FakeLLM()), [{"instruction": "Q", "responses": ["a", "b"]}])
    assert out[0]["scores"] == [1.0, 1.0]
