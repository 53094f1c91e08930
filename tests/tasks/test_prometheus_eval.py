"""PrometheusEval: absolute and relative prompts, rubrics, and strict parsing of ``Feedback: ... [RESULT] N``."""

from __future__ import annotations

import re
from typing import Any

import pytest

from synthgen import Pipeline
from synthgen.errors import ConfigError, StepError
from synthgen.llms import OpenAILLM
from synthgen.steps.loaders.dicts import LoadDataFromDicts
from synthgen.tasks.prometheus_eval import PrometheusEval, parse_output, render_answer
from synthgen.tasks.prometheus_rubrics import DEFAULT_RUBRICS
from tests.tasks.scripted import ScriptedLLM, run_task


def judge(**kwargs: Any) -> PrometheusEval:
    return PrometheusEval(llm=ScriptedLLM(answers=kwargs.pop("answers", ["x"])), **kwargs)


# ---- parsing -------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("text", "mode", "expected"),
    [
        ("Feedback: Clear and correct. [RESULT] 5", "absolute", {"feedback": "Clear and correct.", "result": 5}),
        ("The response misses a step.\n[RESULT] 3", "absolute", {"feedback": "The response misses a step.", "result": 3}),
        ("**Feedback:** Good. [RESULT] (4)", "absolute", {"feedback": "Good.", "result": 4}),
        ("Feedback: Fine. [RESULT] 4/5", "absolute", {"feedback": "Fine.", "result": 4}),
        ("Feedback: ok [RESULT] Score: 2.", "absolute", {"feedback": "ok", "result": 2}),
        ("[RESULT] 1", "absolute", {"feedback": None, "result": 1}),
        ("Feedback: A is precise. [RESULT] A", "relative", {"feedback": "A is precise.", "result": "A"}),
        ("Feedback: B wins. [RESULT] Response B", "relative", {"feedback": "B wins.", "result": "B"}),
        # The first [RESULT] counts: a model that starts over cannot change its grade.
        ("Feedback: x [RESULT] 2\nFeedback: y [RESULT] 5", "absolute", {"feedback": "x", "result": 2}),
    ],
)
def test_well_formed_answers_parse(text: str, mode: str, expected: dict[str, Any]) -> None:
    assert parse_output(text, mode) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "mode", "message"),
    [
        ("Feedback: Good answer. Score: 4", "absolute", "no '[RESULT]' marker"),
        ("Feedback: ok [RESULT] 6", "absolute", "not an integer from 1 to 5"),
        ("Feedback: ok [RESULT] 4.5", "absolute", "not an integer from 1 to 5"),
        ("Feedback: ok [RESULT] 45", "absolute", "not an integer from 1 to 5"),
        ("Feedback: ok [RESULT] four", "absolute", "not an integer from 1 to 5"),
        ("Feedback: ok [RESULT] 4/10", "absolute", "not an integer from 1 to 5"),
        ("Feedback: ok [RESULT] C", "relative", "not A or B"),
        ("Feedback: ok [RESULT] 1", "relative", "not A or B"),
        ("Feedback: ok [RESULT] Both", "relative", "not A or B"),
    ],
)
def test_malformed_answers_are_errors_never_guesses(text: str, mode: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_output(text, mode)  # type: ignore[arg-type]


# ---- prompts and columns -------------------------------------------------------------------------

def test_absolute_mode_columns_and_prompt() -> None:
    task = judge(mode="absolute", rubric="helpfulness")
    assert task.inputs == ["instruction", "generation"] and task.outputs == ["feedback", "result", "model_name"]
    system, user = task.format_input({"instruction": "Why?", "generation": "Because."})
    assert system["role"] == "system"
    assert "###The instruction to evaluate:\nWhy?\n" in user["content"]
    assert "###Response to evaluate:\nBecause.\n" in user["content"]
    assert DEFAULT_RUBRICS["helpfulness"] in user["content"] and "Reference Answer" not in user["content"]
    assert '"Feedback: (your feedback) [RESULT] (an integer from 1 to 5)"' in user["content"]


def test_relative_mode_with_a_reference() -> None:
    task = judge(mode="relative", rubric="reasoning", reference=True)
    assert task.inputs == ["instruction", "generations", "reference"]
    _, user = task.format_input({"instruction": "2+2?", "generations": ["4", "5"], "reference": "4"})
    assert "###Response A:\n4\n" in user["content"] and "###Response B:\n5\n" in user["content"]
    assert "###Reference Answer:\n4\n" in user["content"] and "[RESULT] (A or B)" in user["content"]


def test_relative_mode_needs_two_generations() -> None:
    with pytest.raises(StepError, match="relative mode compares exactly 2 generations, a row has 3"):
        judge(mode="relative", rubric="honesty").format_input({"instruction": "q", "generations": ["a", "b", "c"]})


def test_the_standard_rubrics_are_distilabels_names() -> None:
    assert list(DEFAULT_RUBRICS) == ["helpfulness", "harmlessness", "honesty", "factual-validity", "reasoning"]
    assert all(text.count("\nScore ") == 5 for text in DEFAULT_RUBRICS.values())


def test_an_unknown_rubric_is_a_config_error_listing_the_rubrics() -> None:
    with pytest.raises(ConfigError, match="rubric 'helpful' is not in `rubrics`. Choose one of: helpfulness, harm"):
        judge(mode="absolute", rubric="helpful")


def test_a_custom_rubric() -> None:
    task = judge(mode="absolute", rubric="brevity", rubrics={"brevity": "[Is it short?]\nScore 1: long"})
    assert "[Is it short?]" in task.format_input({"instruction": "q", "generation": "a"})[1]["content"]


def test_mode_rubric_and_reference_change_the_fingerprint() -> None:
    base = judge(mode="absolute", rubric="honesty").fingerprint_params()
    assert judge(mode="relative", rubric="honesty").fingerprint_params() != base
    assert judge(mode="absolute", rubric="reasoning").fingerprint_params() != base
    assert judge(mode="absolute", rubric="honesty", reference=True).fingerprint_params() != base


# ---- the task ------------------------------------------------------------------------------------

def test_rows_get_feedback_and_result_and_a_malformed_answer_keeps_its_raw_text() -> None:
    answers = ["Feedback: Solid. [RESULT] 4", "I would give it a 4.", None]
    task = judge(mode="absolute", rubric="helpfulness", name="p", answers=answers)
    out = run_task(task, [{"instruction": f"Q{i}", "generation": "a"} for i in range(3)])
    assert [(r["feedback"], r["result"]) for r in out] == [("Solid.", 4), (None, None), (None, None)]
    assert out[1]["synthgen_metadata"]["raw_output_p"] == "I would give it a 4."
    assert "no '[RESULT]' marker" in out[1]["synthgen_metadata"]["error_p"]
    assert out[2]["synthgen_metadata"]["error_p"] == "boom"


def test_a_pipeline_judges_through_the_test_server_and_reruns_from_the_cache(openai_server, tmp_path) -> None:  # type: ignore[no-untyped-def]
    def grade(body: dict[str, Any]) -> str:
        response = re.search(r"###Response to evaluate:\n(.*?)\n", body["messages"][-1]["content"]).group(1)  # type: ignore[union-attr]
        return render_answer(f"Graded {response}.", len(response) % 5 + 1)

    openai_server.reply_fn = grade
    data = [{"instruction": "Q", "generation": "x" * i} for i in range(1, 4)]

    def build() -> Pipeline:
        with Pipeline(name="prom", cache_dir=tmp_path) as p:
            llm = OpenAILLM(model="judge", base_url=openai_server.base_url, api_key="k")
            LoadDataFromDicts(data=data) >> PrometheusEval(name="judge", llm=llm, mode="absolute", rubric="honesty")
        return p

    out = build().run()["default"]["train"].to_list()
    assert [(r["feedback"], r["result"]) for r in out] == [("Graded x.", 2), ("Graded xx.", 3), ("Graded xxx.", 4)]
    assert openai_server.counters.requests == 3
    assert build().run()["default"]["train"].to_list() == out
    assert openai_server.counters.requests == 3


def test_a_backend_that_enforces_schemas_is_asked_for_feedback_and_an_enum_result() -> None:
    llm = ScriptedLLM(answers=['{"feedback": "Precise.", "result": 5}', '{"feedback": "x", "result": 9}'], structured=True)
    task = PrometheusEval(llm=llm, mode="absolute", rubric="honesty", name="p")
    out = run_task(task, [{"instruction": "Q", "generation": "a"}] * 2)
    assert [(r["feedback"], r["result"]) for r in out] == [("Precise.", 5), (None, None)]
    assert llm.requests[0].schema["properties"]["result"]["enum"] == [1, 2, 3, 4, 5]  # type: ignore[index]
    assert '{"feedback": "(your feedback)", "result": (an integer from 1 to 5)}' in llm.requests[0].input[1]["content"]  # type: ignore[index]
    assert "not an integer from 1 to 5" in out[1]["synthgen_metadata"]["error_p"]


@pytest.mark.parametrize(("text", "mode", "expected"),
                         [('{"feedback": "B is right.", "result": "B"}', "relative", {"feedback": "B is right.", "result": "B"}),
                          ('```json\n{"result": 3}\n```', "absolute", {"feedback": None, "result": 3})])
def test_json_answers_parse(text: str, mode: str, expected: dict[str, Any]) -> None:
    assert parse_output(text, mode) == expected  # type: ignore[arg-type]
