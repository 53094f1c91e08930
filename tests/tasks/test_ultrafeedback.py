"""UltraFeedback: prompt rendering per aspect and strict, per-section parsing of recorded judge answers."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, ClassVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import PrivateAttr

from synthgen import Pipeline
from synthgen.errors import ConfigError
from synthgen.llms import OpenAILLM
from synthgen.llms.base import LLM
from synthgen.llms.requests import Request, Result
from synthgen.steps.loaders.dicts import LoadDataFromDicts
from synthgen.tasks.ultrafeedback import (
    ASPECTS,
    PRIMER,
    UltraFeedback,
    parse_output,
    parse_rating,
    render_answer,
    render_prompt,
)
from synthgen.testing.fake_llm import FakeLLM

RECORDED = Path(__file__).parent / "recorded"


def recorded(name: str) -> str:
    return (RECORDED / name).read_text(encoding="utf-8")


class RecordedLLM(LLM):
    """Answers each request with the next recorded text (``None`` fails it); remembers the requests."""

    type_name: ClassVar[str] = "recorded"
    answers: list[str | None]
    chat_format: str = "template"
    _requests: list[Request] = PrivateAttr(default_factory=list)

    @property
    def model_name(self) -> str:
        return "recorded-judge"

    def _generate_requests(self, requests: list[Request]) -> list[Result]:
        self._requests.extend(requests)
        return [self._result(self.answers[(len(self._requests) - len(requests) + i) % len(self.answers)])
                for i in range(len(requests))]

    @staticmethod
    def _result(text: str | None) -> Result:
        return Result(None, error="boom") if text is None else Result(text, 10, 5)


# ---- rendering ---------------------------------------------------------------------------------

ASPECT_HEADERS = {
    "helpfulness": "# Informativeness / Helpfulness Assessment",
    "honesty": "# Honesty and Uncertainty Expression Assessment",
    "instruction-following": "# Instruction Following Assessment",
    "truthfulness": "# Truthfulness and Hallucination Assessment",
    "overall-rating": "# General Text Quality Assessment",
}


@pytest.mark.parametrize("aspect", ASPECTS)
def test_each_aspect_renders_its_rubric_the_texts_and_the_section_format(aspect: str) -> None:
    system, user = render_prompt("Why is the sky blue?", ["Rayleigh scattering.", "It reflects the sea."], aspect)
    assert system["role"] == "system" and user["role"] == "user"
    assert 'You\'ll receive an instructional description ("Instruction") and 2 text outputs ("Text").' in system["content"]
    assert user["content"].startswith(ASPECT_HEADERS[aspect] + "\n")
    assert "Rate outputs 1 to 5" in user["content"] or "Score 1 to 5" in user["content"]
    assert "Instruction: Why is the sky blue?\n\nTexts:\n<text 1> Rayleigh scattering.\n<text 2> It reflects the sea.\n" in user["content"]
    assert "#### Output for Text 2\nRating: [Rating for text 2]\nRationale: [Rationale for the rating in short sentences]\n" in user["content"]
    assert "<text 3>" not in user["content"]


def test_the_text_prompt_ends_on_the_primer_for_base_models_and_on_output_for_chat_models() -> None:
    primed = render_prompt("Q", ["a"], prime=True)[1]["content"]
    unprimed = render_prompt("Q", ["a"], prime=False)[1]["content"]
    assert primed.endswith("### Output\n" + PRIMER)
    assert unprimed.endswith("<text 1> a\n\n### Output\n")


def test_the_structured_prompt_asks_for_json_and_has_no_primer() -> None:
    user = render_prompt("Q", ["a", "b", "c"], structured=True, prime=True)[1]["content"]
    assert '{"ratings": [rating for text 1, ...], "rationales": [rationale for text 1, ...]}' in user
    assert "two lists of 3 entries each" in user
    assert "#### Output for Text" not in user
    assert user.endswith("### Output\n")


# ---- parsing recorded answers --------------------------------------------------------------------

TEXT_CASES = [
    ("ultrafeedback_well_formed.txt", 3, [5, 2, 4]),
    ("ultrafeedback_primed_continuation.txt", 2, [4, 3]),
    ("ultrafeedback_preamble_and_extra_sections.txt", 3, [3, 1, 4]),
    ("ultrafeedback_malformed_values.txt", 5, [None, None, None, None, None]),
    ("ultrafeedback_markdown_variants.txt", 4, [4, 2, 3, None]),
    ("ultrafeedback_out_of_order_and_missing.txt", 3, [5, None, 2]),
    ("ultrafeedback_duplicated_section.txt", 2, [4, 3]),
    ("ultrafeedback_truncated.txt", 2, [2, 4]),
    ("ultrafeedback_base_model_rambling.txt", 1, [5]),
    ("ultrafeedback_no_sections.txt", 2, [None, None]),
    ("ultrafeedback_well_formed.txt", 5, [5, 2, 4, None, None]),
    ("ultrafeedback_well_formed.txt", 1, [5]),
]


@pytest.mark.parametrize(("name", "n", "expected"), TEXT_CASES)
def test_recorded_text_answers_parse_by_section_number(name: str, n: int, expected: list[int | None]) -> None:
    ratings, rationales = parse_output(recorded(name), n)
    assert ratings == expected
    assert len(rationales) == n


@pytest.mark.parametrize(
    ("name", "n", "expected"),
    [
        ("ultrafeedback_well_formed.txt", 3, [
            "The answer is correct, concise and explains why the sky looks blue (Rayleigh scattering).",
            "It claims the sky reflects the ocean, which is a common misconception.",
            "Correct explanation, but longer than needed and slightly repetitive.",
        ]),
        ("ultrafeedback_primed_continuation.txt", 2, [
            "Accurate and complete, though the second paragraph repeats the first.",
            "Mostly correct but misses the role of wavelength.",
        ]),
        ("ultrafeedback_markdown_variants.txt", 1, ["Clear and correct."]),
        ("ultrafeedback_duplicated_section.txt", 1, ["Solid."]),
        ("ultrafeedback_truncated.txt", 2, ["Contains a wrong formula.", None]),
        ("ultrafeedback_base_model_rambling.txt", 1, ["The text is good."]),
        ("ultrafeedback_malformed_values.txt", 3, ["Good answer overall.", "Excellent beyond the scale.",
                                                   "I forgot to give a rating for this one."]),
    ],
)
def test_recorded_rationales_are_the_section_text_without_layout(name: str, n: int, expected: list[str | None]) -> None:
    assert parse_output(recorded(name), n)[1] == expected


STRUCTURED_CASES = [
    ("ultrafeedback_structured_well_formed.json", 3, [4, 2, 5], ["Correct and clear.", "Misses the point.", "Excellent."]),
    ("ultrafeedback_structured_malformed.json", 5, [4, None, None, None, None], ["ok", None, None, None, "fine"]),
    ("ultrafeedback_structured_too_few.json", 3, [3, None, None], ["Only one entry for three texts.", None, None]),
    ("ultrafeedback_structured_fenced.txt", 2, [1, 5], ["Wrong.", "Right."]),
    # JSON cut off by the token limit: a ratings array written out whole still counts, a cut one not.
    ("ultrafeedback_structured_invalid.txt", 2, [4, 3], [None, None]),
    ("ultrafeedback_structured_cut_in_ratings.txt", 2, [None, None], [None, None]),
    # Recorded from the embedded Gemma 3 270M judge (llama.cpp grammar, max_new_tokens=96).
    ("ultrafeedback_structured_embedded_truncated.txt", 2, [1, 2], [None, None]),
    ("ultrafeedback_structured_embedded_out_of_range.txt", 2, [None, None],
     ["I am going to explain to my 10-year-old"] * 2),
]


@pytest.mark.parametrize(("name", "n", "ratings", "rationales"), STRUCTURED_CASES)
def test_recorded_structured_answers_parse_as_strictly_as_text(
    name: str, n: int, ratings: list[int | None], rationales: list[str | None]
) -> None:
    assert parse_output(recorded(name), n) == (ratings, rationales)


def test_a_parsed_dict_answer_is_read_the_same_way_as_its_json() -> None:
    answer = {"ratings": [5, "six", 2, 1], "rationales": ["a", "b", "c", "d"]}
    assert parse_output(answer, 3) == ([5, None, 2], ["a", "b", "c"])


def test_a_failed_generation_gives_one_none_per_generation() -> None:
    assert parse_output(None, 3) == ([None] * 3, [None] * 3)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("4", 4), (" 5 ", 5), ("**4**", 4), ("[3]", 3), ("4/5", 4), ("2 - poor", 2), ("1.", 1), (3, 3),
     ("four", None), ("6", None), ("0", None), ("4.5", None), ("4/10", None), ("45", None), ("N/A", None),
     ("", None), ("-3", None), (True, None), (4.0, None), (None, None), (9, None)],
)
def test_parse_rating_accepts_only_an_integer_from_1_to_5(value: Any, expected: int | None) -> None:
    assert parse_rating(value) == expected


@settings(max_examples=200, deadline=None)
@given(text=st.text(alphabet=st.sampled_from(list("#Output forText 0123456789Rating:Rationale\n*")), max_size=300),
       n=st.integers(min_value=0, max_value=6))
def test_any_answer_gives_exactly_one_rating_per_generation_each_valid_or_none(text: str, n: int) -> None:
    ratings, rationales = parse_output(text, n)
    assert len(ratings) == len(rationales) == n
    assert all(r is None or r in {1, 2, 3, 4, 5} for r in ratings)


@settings(max_examples=100, deadline=None)
@given(ratings=st.lists(st.integers(min_value=1, max_value=5), max_size=6),
       rationale=st.text(alphabet=st.characters(categories=("L", "N", "Zs"), include_characters=".,;:!?'\"()#*-"),
                         max_size=40))
def test_a_rendered_answer_parses_back_to_its_ratings(ratings: list[int], rationale: str) -> None:
    rationales = [f"{rationale} ({i})" for i in range(len(ratings))]
    assert parse_output(render_answer(ratings, rationales), len(ratings)) == (ratings, [r.strip() for r in rationales])


# ---- the task ------------------------------------------------------------------------------------

def test_columns() -> None:
    task = UltraFeedback(llm=RecordedLLM(answers=["x"]))
    assert task.inputs == ["instruction", "generations"]
    assert task.outputs == ["ratings", "rationales", "model_name"]


def test_an_unknown_aspect_is_a_config_error_listing_the_aspects() -> None:
    with pytest.raises(ConfigError, match="aspect 'helpfullness' is unknown. Choose one of: helpfulness, honesty"):
        UltraFeedback(llm=RecordedLLM(answers=["x"]), aspect="helpfullness")


def test_a_chat_model_gets_system_and_user_messages() -> None:
    task = UltraFeedback(llm=RecordedLLM(answers=["x"]), aspect="honesty")
    chat = task.format_input({"instruction": "Q", "generations": ["a", None]})
    assert isinstance(chat, list) and [m["role"] for m in chat] == ["system", "user"]
    assert "<text 2> \n" in chat[1]["content"]  # a failed generation is shown empty, keeping the numbering
    assert chat[1]["content"].startswith(ASPECT_HEADERS["honesty"])


def test_a_base_model_gets_one_prompt_that_ends_on_the_primer() -> None:
    task = UltraFeedback(llm=RecordedLLM(answers=["x"], chat_format="completion"))
    prompt = task.format_input({"instruction": "Q", "generations": ["a", "b"]})
    assert isinstance(prompt, str)
    assert prompt.startswith("Your role is to evaluate text quality based on given criteria.")
    assert prompt.endswith("<text 2> b\n\n### Output\n" + PRIMER)


def test_process_rates_each_row_from_recorded_answers_and_keeps_failed_rows() -> None:
    llm = RecordedLLM(answers=[recorded("ultrafeedback_well_formed.txt"), None,
                               recorded("ultrafeedback_primed_continuation.txt")])
    task = UltraFeedback(llm=llm, name="judge")
    rows = [{"instruction": "Q1", "generations": ["a", "b", "c"]},
            {"instruction": "Q2", "generations": ["d", "e"]},
            {"instruction": "Q3", "generations": ["f", "g"]}]
    out = next(task.process(rows))
    assert [r["ratings"] for r in out] == [[5, 2, 4], None, [4, 3]]
    assert [r["model_name"] for r in out] == ["recorded-judge"] * 3
    assert out[1]["synthgen_metadata"]["error_judge"] == "boom"
    assert out[0]["synthgen_metadata"]["error_judge"] is None
    assert out[0]["instruction"] == "Q1" and out[0]["generations"] == ["a", "b", "c"]


def test_use_structured_output_asks_the_backend_for_the_schema_and_parses_its_json() -> None:
    llm = RecordedLLM(answers=[recorded("ultrafeedback_structured_well_formed.json")])
    task = UltraFeedback(llm=llm, use_structured_output=True)
    out = next(task.process([{"instruction": "Q", "generations": ["a", "b", "c"]}]))
    assert out[0]["ratings"] == [4, 2, 5]
    schema = llm._requests[0].schema
    assert schema is not None and set(schema["properties"]) == {"ratings", "rationales"}
    # Exactly one rating and rationale per response: a grammar cannot produce too few or too many.
    assert schema["properties"]["ratings"]["minItems"] == schema["properties"]["ratings"]["maxItems"] == 3


def test_by_default_a_backend_that_enforces_schemas_gets_one_per_row_size() -> None:
    llm = FakeLLM()  # answers any schema it is given, like a llama.cpp grammar
    rows = [{"instruction": "Q1", "generations": ["a", "b"]}, {"instruction": "Q2", "generations": ["a"]},
            {"instruction": "Q3", "generations": ["x", "y"]}]
    out = next(UltraFeedback(llm=llm).process(rows))
    assert [r["ratings"] for r in out] == [[1, 1], [1], [1, 1]], "every answer parses, in row order"
    assert [r["instruction"] for r in out] == ["Q1", "Q2", "Q3"]


def test_without_structured_output_no_schema_is_sent() -> None:
    llm = RecordedLLM(answers=["x"])
    next(UltraFeedback(llm=llm).process([{"instruction": "Q", "generations": ["a"]}]))
    assert llm._requests[0].schema is None


def test_aspect_and_structured_output_change_the_fingerprint() -> None:
    llm = RecordedLLM(answers=["x"])
    base = UltraFeedback(llm=llm).fingerprint_params()
    assert UltraFeedback(llm=llm, aspect="honesty").fingerprint_params() != base
    assert UltraFeedback(llm=llm, use_structured_output=True).fingerprint_params() != base


# ---- end to end ------------------------------------------------------------------------------------

def test_a_pipeline_rates_rows_through_a_server_and_reruns_from_the_cache(openai_server, tmp_path) -> None:  # type: ignore[no-untyped-def]

    def judge(body: dict[str, Any]) -> str:
        texts = len(re.findall(r"^<text \d+>", body["messages"][-1]["content"], re.MULTILINE))
        return "Here are my ratings.\n\n" + render_answer([5 - i for i in range(texts)])

    openai_server.reply_fn = judge
    data = [{"instruction": f"Q{i}", "generations": ["a", "b", "c"][: 1 + i % 3]} for i in range(4)]

    def build() -> Pipeline:
        with Pipeline(name="uf", cache_dir=tmp_path) as p:
            load = LoadDataFromDicts(data=data, batch_size=2)
            llm = OpenAILLM(model="judge", base_url=openai_server.base_url, api_key="k")
            load >> UltraFeedback(name="judge", llm=llm, aspect="helpfulness")
        return p

    out = build().run()["default"]["train"].to_list()
    assert [r["ratings"] for r in out] == [[5], [5, 4], [5, 4, 3], [5]]
    assert [len(r["rationales"]) for r in out] == [1, 2, 3, 1]
    sent = openai_server.counters.requests
    assert sent == 4
    assert build().run()["default"]["train"].to_list() == out
    assert openai_server.counters.requests == sent
