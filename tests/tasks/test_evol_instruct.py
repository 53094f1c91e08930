"""EvolInstruct: mutation prompts, seeded mutation choice, rounds of evolution and parsing of answers."""

from __future__ import annotations

import random
import re
from pathlib import Path
from typing import ClassVar

import pytest
from pydantic import PrivateAttr

from synthgen.errors import ConfigError
from synthgen.llms.base import LLM
from synthgen.llms.requests import Request, Result, prompt_text
from synthgen.tasks.evol_instruct import (
    DEFAULT_MUTATIONS,
    EvolInstruct,
    builtin_mutation_templates,
    choose_mutation,
    parse_evolved,
    render_prompt,
)

RECORDED = Path(__file__).parent / "recorded"
_GIVEN = re.compile(r"#(?:The )?Given Prompt#:\n(.*?)\n\n#", re.DOTALL)


def recorded(name: str) -> str:
    return (RECORDED / name).read_text(encoding="utf-8")


class EvolvingLLM(LLM):
    """Answers ``"<given prompt> +"`` (so each round visibly builds on the last) unless the given prompt
    contains a ``fail_on`` marker; records the size of every batch it was asked for."""

    type_name: ClassVar[str] = "evolving"
    fail_on: str | None = None
    _batches: list[list[Request]] = PrivateAttr(default_factory=list)

    @property
    def model_name(self) -> str:
        return "evolving"

    def _generate_requests(self, requests: list[Request]) -> list[Result]:
        self._batches.append(requests)
        return [self._answer(r) for r in requests]

    def _answer(self, request: Request) -> Result:
        match = _GIVEN.search(prompt_text(request.input))
        given = match.group(1) if match else "?"
        if self.fail_on and self.fail_on in given:
            return Result(None, error="boom")
        return Result(f"{given} +", 10, 5)


class RecordedLLM(LLM):
    """Answers every request with one recorded text."""

    type_name: ClassVar[str] = "recorded"
    answer: str

    @property
    def model_name(self) -> str:
        return "recorded"

    def _generate_requests(self, requests: list[Request]) -> list[Result]:
        return [Result(self.answer, 10, 5) for _ in requests]


# ---- prompts -------------------------------------------------------------------------------------

METHOD_LINES = {
    "constraints": "Please add one more constraints/requirements into #The Given Prompt#",
    "deepen": "If #The Given Prompt# contains inquiries about certain issues, the depth and breadth of the inquiry can be increased.",
    "concretizing": "Please replace general concepts with more specific concepts.",
    "increase_reasoning": "If #The Given Prompt# can be solved with just a few simple thinking processes, you can rewrite it to explicitly request multiple-step reasoning.",
}


@pytest.mark.parametrize("name", sorted(METHOD_LINES))
def test_in_depth_mutations_render_the_rewriter_prompt_with_their_method(name: str) -> None:
    prompt = render_prompt(builtin_mutation_templates()[name], "What is 2+2?")
    assert prompt.startswith("I want you act as a Prompt Rewriter.\n")
    assert f"You SHOULD complicate the given prompt using the following method:\n{METHOD_LINES[name]}\n\n" in prompt
    assert prompt.endswith("#The Given Prompt#:\nWhat is 2+2?\n\n#Rewritten Prompt#:\n")


def test_the_breadth_mutation_renders_the_creator_prompt() -> None:
    prompt = render_prompt(builtin_mutation_templates()["breadth"], "What is 2+2?")
    assert prompt.startswith("I want you act as a Prompt Creator.\n")
    assert "belong to the same domain as the #Given Prompt# but be even more rare." in prompt
    assert prompt.endswith("#Given Prompt#:\nWhat is 2+2?\n\n#Created Prompt#:\n")


def test_the_default_set_is_the_five_evol_instruct_mutations() -> None:
    task = EvolInstruct(llm=EvolvingLLM())
    assert list(task.mutation_templates) == list(DEFAULT_MUTATIONS)
    assert DEFAULT_MUTATIONS == ("constraints", "deepen", "concretizing", "increase_reasoning", "breadth")


# ---- seeded mutation choice ----------------------------------------------------------------------

def test_choose_mutation_is_a_pure_function_of_seed_instruction_and_round() -> None:
    names = list(DEFAULT_MUTATIONS)
    first = [choose_mutation(names, 42, f"instruction {i}", 0) for i in range(50)]
    random.seed(1234)  # global random state must not matter
    assert [choose_mutation(names, 42, f"instruction {i}", 0) for i in range(50)] == first
    assert [choose_mutation(list(reversed(names)), 42, f"instruction {i}", 0) for i in range(50)] == first


def test_choose_mutation_uses_every_mutation_and_depends_on_seed_and_round() -> None:
    names = list(DEFAULT_MUTATIONS)
    picks = [choose_mutation(names, 42, f"instruction {i}", 0) for i in range(200)]
    assert set(picks) == set(names)
    assert picks != [choose_mutation(names, 7, f"instruction {i}", 0) for i in range(200)]
    assert picks != [choose_mutation(names, 42, f"instruction {i}", 1) for i in range(200)]


def test_the_same_seed_gives_the_same_rows_whatever_the_batching() -> None:
    rows = [{"instruction": f"Question number {i}?"} for i in range(12)]
    whole = next(EvolInstruct(llm=EvolvingLLM(), num_evolutions=2, name="e").process(rows))
    split_task = EvolInstruct(llm=EvolvingLLM(), num_evolutions=2, name="e")
    split = next(split_task.process(rows[7:])) + next(split_task.process(rows[:7]))
    split = sorted(split, key=lambda r: rows.index({"instruction": r["instruction"]}))
    assert [r["synthgen_metadata"]["mutations_e"] for r in whole] == [r["synthgen_metadata"]["mutations_e"] for r in split]
    assert [r["synthgen_metadata"]["raw_input_e"] for r in whole] == [r["synthgen_metadata"]["raw_input_e"] for r in split]


def test_a_different_seed_changes_some_mutations() -> None:
    rows = [{"instruction": f"Question number {i}?"} for i in range(12)]
    a = next(EvolInstruct(llm=EvolvingLLM(), seed=1, name="e").process(rows))
    b = next(EvolInstruct(llm=EvolvingLLM(), seed=2, name="e").process(rows))
    assert [r["synthgen_metadata"]["mutations_e"] for r in a] != [r["synthgen_metadata"]["mutations_e"] for r in b]


# ---- rounds --------------------------------------------------------------------------------------

def test_each_round_is_one_generate_call_for_the_whole_batch_and_builds_on_the_last() -> None:
    llm = EvolvingLLM()
    task = EvolInstruct(llm=llm, num_evolutions=3, name="e")
    out = next(task.process([{"instruction": "A?"}, {"instruction": "B?"}]))
    assert [len(batch) for batch in llm._batches] == [2, 2, 2]
    assert [r["evolved_instruction"] for r in out] == ["A? + + +", "B? + + +"]
    meta = out[0]["synthgen_metadata"]
    assert len(meta["mutations_e"]) == 3 and meta["statistics_e"] == {"input_tokens": [10] * 3, "output_tokens": [5] * 3}
    assert meta["raw_output_e"] == ["A? +", "A? + +", "A? + + +"]
    assert out[0]["model_name"] == "evolving"


def test_store_evolutions_outputs_every_round() -> None:
    task = EvolInstruct(llm=EvolvingLLM(), num_evolutions=2, store_evolutions=True)
    assert task.outputs == ["evolved_instructions", "model_name"]
    out = next(task.process([{"instruction": "A?"}]))
    assert out[0]["evolved_instructions"] == ["A? +", "A? + +"]
    assert "evolved_instruction" not in out[0]


def test_a_failed_round_stops_that_row_only_and_records_the_error() -> None:
    llm = EvolvingLLM(fail_on="B? +")  # B fails in its second round
    task = EvolInstruct(llm=llm, num_evolutions=3, store_evolutions=True, name="e")
    out = next(task.process([{"instruction": "A?"}, {"instruction": "B?"}]))
    assert out[0]["evolved_instructions"] == ["A? +", "A? + +", "A? + + +"]
    assert out[1]["evolved_instructions"] == ["B? +", None, None]
    assert out[1]["synthgen_metadata"]["error_e"] == "evolution 2: boom"
    assert [len(batch) for batch in llm._batches] == [2, 2, 1]


# ---- parsing -------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("evol_instruct_clean.txt",
         "Explain why the sky is blue, and include how the colour changes at sunset in under 100 words."),
        ("evol_instruct_echoed_label.txt",
         "Write a haiku about autumn rain on a city street that mentions a streetlight."),
        ("evol_instruct_base_model_continues.txt",
         "Compare lists and tuples in Python, covering mutability and memory use."),
        ("evol_instruct_created_label.txt", "Describe how lichens survive on bare rock in the Arctic."),
        ("evol_instruct_empty.txt", None),
    ],
)
def test_recorded_answers_parse_to_the_evolved_instruction(name: str, expected: str | None) -> None:
    assert parse_evolved(recorded(name)) == expected


def test_a_failed_generation_parses_to_none() -> None:
    assert parse_evolved(None) is None


def test_an_empty_answer_is_a_row_error_not_an_empty_instruction() -> None:
    task = EvolInstruct(llm=RecordedLLM(answer=recorded("evol_instruct_empty.txt")), name="e")
    out = next(task.process([{"instruction": "A?"}]))
    assert out[0]["evolved_instruction"] is None
    assert out[0]["synthgen_metadata"]["error_e"] == (
        "evolution 1: could not parse the output: the answer holds no evolved instruction"
    )


# ---- configuration -------------------------------------------------------------------------------

def test_mutation_templates_may_name_a_subset_of_the_bundled_ones() -> None:
    task = EvolInstruct(llm=EvolvingLLM(), mutation_templates=["breadth"], name="e")
    out = next(task.process([{"instruction": f"Q{i}"} for i in range(5)]))
    assert {m for r in out for m in r["synthgen_metadata"]["mutations_e"]} == {"breadth"}


def test_a_custom_mutation_template_is_used() -> None:
    custom = {"shorten": "Make this shorter.\n#Given Prompt#:\n{{ instruction }}\n\n#Created Prompt#:\n"}
    task = EvolInstruct(llm=EvolvingLLM(), mutation_templates=custom)
    chat = task.format_input({"instruction": "A long question?"})
    assert chat == [{"role": "user", "content": "Make this shorter.\n#Given Prompt#:\nA long question?\n\n#Created Prompt#:\n"}]


@pytest.mark.parametrize(
    ("templates", "message"),
    [
        (["deepen", "widen"], "EvolInstruct mutation 'widen' is not bundled. Bundled mutations: constraints, deepen"),
        ({"bad": "Rewrite this."}, "mutation template 'bad' never uses {{ instruction }}"),
        ({"bad": "{{ instruction "}, "mutation template 'bad' is not valid Jinja2"),
        ({}, "needs at least one mutation template"),
    ],
)
def test_bad_mutation_templates_are_config_errors(templates: object, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        EvolInstruct(llm=EvolvingLLM(), mutation_templates=templates)


def test_num_generations_other_than_one_is_rejected() -> None:
    with pytest.raises(ValueError, match="num_generations"):
        EvolInstruct(llm=EvolvingLLM(), num_generations=2)


def test_seed_and_templates_change_the_fingerprint() -> None:
    llm = EvolvingLLM()
    base = EvolInstruct(llm=llm).fingerprint_params()
    assert EvolInstruct(llm=llm, seed=7).fingerprint_params() != base
    assert EvolInstruct(llm=llm, mutation_templates=["deepen"]).fingerprint_params() != base
