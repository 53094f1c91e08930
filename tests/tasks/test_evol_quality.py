"""EvolQuality: response-rewriting prompts, seeded mutations, rounds that build on the last, failures kept."""

from __future__ import annotations

import re

import pytest

from synthgen.errors import ConfigError
from synthgen.tasks.evol_quality import MUTATIONS, EvolQuality, parse_evolved
from synthgen.testing.fake_llm import FakeLLM
from tests.tasks.scripted import ScriptedLLM, run_task


def test_columns_are_distilabels() -> None:
    task = EvolQuality(llm=FakeLLM())
    assert task.inputs == ["instruction", "response"] and task.outputs == ["evolved_response", "model_name"]
    assert EvolQuality(llm=FakeLLM(), store_evolutions=True).outputs == ["evolved_responses", "model_name"]
    assert list(task.mutation_templates) == list(MUTATIONS)


@pytest.mark.parametrize("name", MUTATIONS)
def test_each_mutation_shows_the_prompt_and_the_response_to_rewrite(name: str) -> None:
    task = EvolQuality(llm=FakeLLM(), mutation_templates=[name])
    [message] = task.format_input({"instruction": "Why is the sky blue?", "response": "Scattering."})
    assert message["content"].startswith("I want you to act as a Response Rewriter.")
    assert message["content"].endswith("#Given Prompt#:\nWhy is the sky blue?\n\n#Given Response#:\nScattering.\n\n"
                                       "#Rewritten Response#:\n")


@pytest.mark.parametrize(
    ("text", "expected"),
    [("A better answer.", "A better answer."), ("#Rewritten Response#: A better answer.", "A better answer."),
     ("Better.\n\n#Given Prompt#:\nNext example", "Better."), ("   ", None), (None, None)],
)
def test_parse_evolved(text: str | None, expected: str | None) -> None:
    assert parse_evolved(text) == expected


def test_rounds_build_on_the_last_and_store_every_round_with_the_original() -> None:
    llm = ScriptedLLM(answers=["first rewrite", "second rewrite"])
    task = EvolQuality(llm=llm, num_evolutions=2, store_evolutions=True, include_original_response=True, name="e")
    [row] = run_task(task, [{"instruction": "Q", "response": "orig"}])
    assert row["evolved_responses"] == ["orig", "first rewrite", "second rewrite"]
    assert "#Given Response#:\nfirst rewrite\n" in llm.requests[1].input[0]["content"]  # type: ignore[index]
    assert len(row["synthgen_metadata"]["mutations_e"]) == 2


def test_an_empty_or_failed_round_stops_the_row_and_keeps_the_raw_answer() -> None:
    task = EvolQuality(llm=ScriptedLLM(answers=["   ", None]), num_evolutions=2, store_evolutions=True, name="e")
    out = run_task(task, [{"instruction": "Q1", "response": "a"}, {"instruction": "Q2", "response": "b"}])
    assert [r["evolved_responses"] for r in out] == [[None, None], [None, None]]
    assert out[0]["synthgen_metadata"]["error_e"] == "evolution 1: could not parse the output: the answer holds no rewritten response"
    assert out[0]["synthgen_metadata"]["raw_output_e"] == ["   "]
    assert out[1]["synthgen_metadata"]["error_e"] == "evolution 1: boom"


def test_the_mutations_are_reproducible_whatever_the_batching() -> None:
    rows = [{"instruction": f"Q{i}", "response": f"A{i}"} for i in range(10)]
    whole = run_task(EvolQuality(llm=FakeLLM(), name="e"), rows)
    split = run_task(EvolQuality(llm=FakeLLM(), name="e"), rows[5:]) + run_task(EvolQuality(llm=FakeLLM(), name="e"), rows[:5])
    mutations = {r["instruction"]: r["synthgen_metadata"]["mutations_e"] for r in whole}
    assert all(mutations[r["instruction"]] == r["synthgen_metadata"]["mutations_e"] for r in split)
    assert len({m[0] for m in mutations.values()}) > 1


@pytest.mark.parametrize(
    ("templates", "message"),
    [(["details", "tone"], "EvolQuality mutation 'tone' is not bundled"),
     ({"x": "Improve: {{ instruction }}"}, "mutation template 'x' never uses {{ response }}"),
     ({}, "needs at least one mutation template")],
)
def test_bad_mutation_templates_are_config_errors(templates: object, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        EvolQuality(llm=FakeLLM(), mutation_templates=templates)
