"""SelfInstruct: the query-generation prompt and reading queries out of recorded answers."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import pytest
from pydantic import PrivateAttr

from synthgen.llms.base import LLM
from synthgen.llms.requests import Request, Result
from synthgen.tasks.self_instruct import (
    DEFAULT_CRITERIA,
    SelfInstruct,
    clean_line,
    parse_instructions,
    render_prompt,
)

RECORDED = Path(__file__).parent / "recorded"


def recorded(name: str) -> str:
    return (RECORDED / name).read_text(encoding="utf-8")


class RecordedLLM(LLM):
    """Answers each request with the next recorded text (``None`` fails it); remembers the requests."""

    type_name: ClassVar[str] = "recorded"
    answers: list[str | None]
    _requests: list[Request] = PrivateAttr(default_factory=list)

    @property
    def model_name(self) -> str:
        return "recorded-writer"

    def _generate_requests(self, requests: list[Request]) -> list[Result]:
        start = len(self._requests)
        self._requests.extend(requests)
        answers = [self.answers[(start + i) % len(self.answers)] for i in range(len(requests))]
        return [Result(None, error="boom") if a is None else Result(a, 10, 5) for a in answers]


BEES = [
    "How do honeybees communicate the location of flowers to each other?",
    "Explain the role of bumblebees in pollinating tomato plants.",
    "What would happen to global agriculture if bees disappeared?",
    "Describe the life cycle of a worker bee.",
    "List three ways gardeners can make their gardens friendlier to pollinators.",
]


def test_prompt_renders_count_criteria_application_and_context_and_ends_on_output() -> None:
    prompt = render_prompt("Bees and pollination", 3, "Be brief.", "A gardening tutor")
    assert prompt.startswith("# Task Description\nDevelop 3 user queries that can be received by the given AI application")
    assert prompt.endswith(
        "# Criteria for Queries\nBe brief.\n\n# AI Application\nA gardening tutor\n\n"
        "# Context\nBees and pollination\n\n# Output\n"
    )


def test_default_prompt_uses_the_self_instruct_criteria() -> None:
    prompt = render_prompt("Volcanoes")
    assert "Develop 5 user queries" in prompt
    assert f"# Criteria for Queries\n{DEFAULT_CRITERIA}\n\n# AI Application\nAI assistant\n" in prompt
    assert "avoid using numbered lists or bullet points." in prompt


@pytest.mark.parametrize(
    ("name", "n", "expected"),
    [
        ("self_instruct_numbered_with_preamble.txt", 5, BEES),
        ("self_instruct_numbered_with_preamble.txt", 2, BEES[:2]),
        ("self_instruct_bullets_and_blank_lines.txt", 5, [
            "What is the difference between weather and climate?",
            "Summarize the main drivers of sea level rise.",
            "Propose a plan for a city to adapt to hotter summers.",
        ]),
        ("self_instruct_plain_lines_too_many.txt", 5, [
            "What is a prime number?",
            "Explain the law of large numbers with an example.",
            "How do you compute the probability of two independent events?",
            "Describe the difference between mean and median.",
            "Give an everyday example of conditional probability.",
        ]),
        ("self_instruct_base_model_continues.txt", 5, [
            "What makes a board game fun to replay?",
            "Suggest a theme for a cooperative board game.",
        ]),
        ("self_instruct_only_preamble.txt", 5, []),
    ],
)
def test_recorded_answers_give_clean_queries(name: str, n: int, expected: list[str]) -> None:
    assert parse_instructions(recorded(name), n) == expected


def test_a_failed_generation_gives_none() -> None:
    assert parse_instructions(None, 5) is None


@pytest.mark.parametrize(
    ("line", "expected"),
    [("1. Do x.", "Do x."), ("(2) Do x.", "Do x."), ("3) Do x.", "Do x."), ("- Do x.", "Do x."),
     ("* Do x.", "Do x."), ("• Do x.", "Do x."), ('"Do x."', "Do x."), ("**Do x.**", "Do x."),
     ("Query 4: Do x.", "Do x."), ("**Instruction 2:** Do x.", "Do x."), ("2024 was a leap year?", "2024 was a leap year?")],
)
def test_clean_line_strips_numbering_bullets_labels_and_quotes(line: str, expected: str) -> None:
    assert clean_line(line) == expected


def test_columns() -> None:
    task = SelfInstruct(llm=RecordedLLM(answers=["x"]))
    assert task.inputs == ["input"]
    assert task.outputs == ["instructions", "model_name"]


def test_process_sends_one_user_message_per_topic_and_keeps_failed_rows() -> None:
    llm = RecordedLLM(answers=[recorded("self_instruct_numbered_with_preamble.txt"), None])
    task = SelfInstruct(llm=llm, num_instructions=4, application_description="A gardening tutor", name="si")
    out = next(task.process([{"input": "Bees"}, {"input": "Ferns"}]))
    assert out[0]["instructions"] == BEES[:4]
    assert out[1]["instructions"] is None and out[1]["synthgen_metadata"]["error_si"] == "boom"
    chat = llm._requests[0].input
    assert isinstance(chat, list) and [m["role"] for m in chat] == ["user"]
    assert "Develop 4 user queries" in chat[0]["content"] and "# AI Application\nA gardening tutor\n" in chat[0]["content"]
    assert chat[0]["content"].endswith("# Context\nBees\n\n# Output\n")


def test_num_instructions_must_be_positive() -> None:
    with pytest.raises(ValueError, match="num_instructions"):
        SelfInstruct(llm=RecordedLLM(answers=["x"]), num_instructions=0)
