"""Genstruct: the raw ``[[[Title]]]`` prompt where the backend can send it, and the interaction parsed."""

from __future__ import annotations

import pytest

from synthgen.llms.requests import RawPrompt
from synthgen.tasks.genstruct import Genstruct, parse_interaction
from tests.tasks.scripted import ScriptedLLM, run_task


def test_a_raw_prompt_where_the_backend_can_send_one_else_a_user_message() -> None:
    row = {"title": "Lichens", "content": "Lichens grow on rock."}
    raw = Genstruct(llm=ScriptedLLM(answers=["x"])).format_input(row)
    assert isinstance(raw, RawPrompt)
    assert raw.startswith("[[[Title]]] Lichens\n[[[Content]]] Lichens grow on rock.\n\n") and raw.endswith("[[[User]]] ")
    chat = Genstruct(llm=ScriptedLLM(answers=["x"], raw_prompts=False)).format_input(row)
    assert chat == [{"role": "user", "content": str(raw)}]


@pytest.mark.parametrize(
    ("text", "expected"),
    [("How do lichens grow? [[[Assistant]]] On bare rock.", {"user": "How do lichens grow?", "assistant": "On bare rock."}),
     ("[[[User]]] Q?\n[[[Assistant]]] A.\n[[[User]]] Another?", {"user": "Q?", "assistant": "A."})],
)
def test_well_formed_continuations(text: str, expected: dict[str, str]) -> None:
    assert parse_interaction(text) == expected


@pytest.mark.parametrize(("text", "message"), [("Just a question?", "no '\\[\\[\\[Assistant\\]\\]\\]' turn"),
                                               ("[[[Assistant]]] A.", "user turn is empty")])
def test_malformed_continuations_are_errors(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_interaction(text)


def test_rows() -> None:
    out = run_task(Genstruct(llm=ScriptedLLM(answers=["Q? [[[Assistant]]] A.", "Q only"]), name="g"),
                   [{"title": "t", "content": "c"}] * 2)
    assert [(r["user"], r["assistant"]) for r in out] == [("Q?", "A."), (None, None)]
    assert out[1]["synthgen_metadata"]["raw_output_g"] == "Q only"
