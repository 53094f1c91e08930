"""TextClassification: one label or n, free or from a set, JSON answers parsed strictly, schemas with enums."""

from __future__ import annotations

import pytest

from synthgen.tasks.text_classification import TextClassification, labels_schema, parse_labels
from synthgen.testing.fake_llm import FakeLLM
from tests.tasks.scripted import ScriptedLLM, run_task


def test_columns_are_distilabels() -> None:
    task = TextClassification(llm=FakeLLM())
    assert task.inputs == ["text"] and task.outputs == ["labels", "model_name"]


def test_the_prompt_lists_the_labels_with_their_descriptions_and_the_output_format() -> None:
    task = TextClassification(llm=ScriptedLLM(answers=["x"]), n=2, query_title="Customer Query",
                              available_labels={"complaint": "unhappy", "inquiry": "a question"})
    system, user = task.format_input({"text": "Where is my order?"})
    assert system["role"] == "system"
    assert '- "complaint": unhappy\n- "inquiry": a question\n' in user["content"]
    assert "## Customer Query\n```\nWhere is my order?\n```" in user["content"]
    assert user["content"].rstrip().endswith('{"labels": ["label_0", "label_1"]}')
    assert "Give a list of 2 labels" in user["content"]


@pytest.mark.parametrize(
    ("text", "n", "allowed", "expected"),
    [('{"labels": "positive"}', 1, ["positive", "negative"], "positive"),
     ('```json\n{"labels": ["positive"]}\n```', 1, None, "positive"),
     ('{"labels": ["a", "b", "c"]}', 2, None, ["a", "b"]),
     ('{"labels": "Unclassified"}', 1, ["x", "Unclassified"], "Unclassified")],
)
def test_well_formed_answers(text: str, n: int, allowed: list[str] | None, expected: object) -> None:
    assert parse_labels(text, n, allowed) == expected


@pytest.mark.parametrize(
    ("text", "n", "allowed", "message"),
    [("The label is positive.", 1, None, "not JSON"),
     ('{"label": "positive"}', 1, None, "'labels' must be a string"),
     ('{"labels": "a"}', 2, None, "'labels' must be a list of strings"),
     ('{"labels": "neutral"}', 1, ["positive", "negative"], "label 'neutral' is not one of the available labels")],
)
def test_malformed_answers_are_errors(text: str, n: int, allowed: list[str] | None, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_labels(text, n, allowed)


def test_a_backend_that_enforces_schemas_gets_the_labels_as_an_enum() -> None:
    llm = ScriptedLLM(answers=['{"labels": "spam"}'], structured=True)
    [row] = run_task(TextClassification(llm=llm, available_labels=["spam", "ham"]), [{"text": "Buy now"}])
    assert row["labels"] == "spam"
    assert llm.requests[0].schema == labels_schema(1, ["spam", "ham", "Unclassified"])
    assert labels_schema(3, None)["properties"]["labels"]["maxItems"] == 3


def test_an_unparseable_answer_keeps_the_row_with_its_raw_answer() -> None:
    [row] = run_task(TextClassification(llm=ScriptedLLM(answers=["positive"]), name="tc"), [{"text": "great"}])
    assert row["labels"] is None and row["synthgen_metadata"]["raw_output_tc"] == "positive"
    assert "not JSON" in row["synthgen_metadata"]["error_tc"]
