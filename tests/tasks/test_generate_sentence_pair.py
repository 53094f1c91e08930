"""GenerateSentencePair: prompts per action, ``## Positive`` / ``## Negative`` sections or JSON."""

from __future__ import annotations

import pytest

from synthgen.tasks.generate_sentence_pair import GenerateSentencePair, parse_pair
from synthgen.testing.fake_llm import FakeLLM
from tests.tasks.scripted import ScriptedLLM, run_task


def test_columns_are_distilabels() -> None:
    assert GenerateSentencePair(llm=FakeLLM(), action="paraphrase").outputs == ["positive", "model_name"]
    task = GenerateSentencePair(llm=FakeLLM(), action="query", triplet=True)
    assert task.inputs == ["anchor"] and task.outputs == ["positive", "negative", "model_name"]


@pytest.mark.parametrize(("action", "phrase"), [("paraphrase", "paraphrases the anchor"),
                                                ("semantically-similar", "semantically similar"),
                                                ("query", "a query a user could search for"),
                                                ("answer", "answers the anchor")])
def test_each_action_has_its_instruction(action: str, phrase: str) -> None:
    task = GenerateSentencePair(llm=ScriptedLLM(answers=["x"]), action=action, triplet=True, hard_negative=True,
                                context="Python docs")
    [message] = task.format_input({"anchor": "Lists are mutable."})
    assert phrase in message["content"] and "hard negative" in message["content"]
    assert "## Context\nPython docs" in message["content"] and message["content"].endswith("## Anchor\n\nLists are mutable.\n")


@pytest.mark.parametrize(
    ("text", "triplet", "expected"),
    [("## Positive\n\nSame idea.\n\n## Negative\n\nOther idea.", True, {"positive": "Same idea.", "negative": "Other idea."}),
     ("Sure!\n## Positive:\nSame idea.", False, {"positive": "Same idea."}),
     ('{"positive": "p", "negative": "n"}', True, {"positive": "p", "negative": "n"})],
)
def test_well_formed_answers(text: str, triplet: bool, expected: dict[str, str]) -> None:
    assert parse_pair(text, triplet) == expected


@pytest.mark.parametrize(("text", "message"), [("## Positive\n\nSame idea.", "no negative sentence"),
                                               ("Here is a paraphrase: same idea.", "no positive sentence"),
                                               ('{"positive": "p"', "does not decode")])
def test_malformed_answers_are_errors(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_pair(text, triplet=True)


def test_rows_with_a_structured_backend_and_a_malformed_answer() -> None:
    llm = ScriptedLLM(answers=['{"positive": "p"}', "nothing useful"], structured=True)
    out = run_task(GenerateSentencePair(llm=llm, action="paraphrase", name="g"), [{"anchor": "a"}, {"anchor": "b"}])
    assert [r["positive"] for r in out] == ["p", None]
    assert llm.requests[0].schema is not None and "JSON object" in llm.requests[0].input[0]["content"]  # type: ignore[index]
    assert out[1]["synthgen_metadata"]["raw_output_g"] == "nothing useful"
