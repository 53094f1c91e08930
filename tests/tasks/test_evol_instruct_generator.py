"""EvolInstructGenerator and EvolComplexityGenerator: seeded first requests, evolutions, one sample per row."""

from __future__ import annotations

import pytest

from synthgen.errors import ConfigError
from synthgen.tasks.evol_complexity import IN_DEPTH_MUTATIONS
from synthgen.tasks.evol_complexity_generator import EvolComplexityGenerator
from synthgen.tasks.evol_instruct import DEFAULT_MUTATIONS
from synthgen.tasks.evol_instruct_generator import EvolInstructGenerator
from synthgen.testing.fake_llm import FakeLLM
from tests.tasks.scripted import ScriptedLLM


def rows_of(gen: EvolComplexityGenerator) -> list[dict]:
    return [row for rows, _ in gen.process() for row in rows]


def test_num_instructions_is_accepted_and_rows_come_in_batches() -> None:
    gen = EvolComplexityGenerator(llm=FakeLLM(), num_instructions=3, batch_size=2)
    assert gen.num_rows == 3 and gen.outputs == ["instruction", "model_name"]
    assert [(len(rows), last) for rows, last in gen.process()] == [(2, False), (1, True)]
    with pytest.raises(ConfigError, match="num_rows or num_instructions, not both"):
        EvolComplexityGenerator(llm=FakeLLM(), num_instructions=3, num_rows=3)


def test_each_row_starts_from_seeded_words_then_evolves_in_depth() -> None:
    llm = ScriptedLLM(answers=["Explain budgets.", "#Rewritten Prompt#: Explain budgets for a small bakery."])
    [row] = rows_of(EvolComplexityGenerator(llm=llm, num_rows=1, name="g"))
    assert row["instruction"] == "Explain budgets for a small bakery."
    first = llm.requests[0].input[0]["content"]  # type: ignore[index]
    assert first.startswith("Write one question or request")
    assert "#The Given Prompt#:\nExplain budgets.\n" in llm.requests[1].input[0]["content"]  # type: ignore[index]
    assert row["synthgen_metadata"]["mutations_g"][0] == "fresh_start"
    assert row["synthgen_metadata"]["mutations_g"][1] in IN_DEPTH_MUTATIONS


def test_rows_are_different_samples_and_reproducible() -> None:
    llm = ScriptedLLM(answers=["q"])
    gen = EvolComplexityGenerator(llm=llm, num_rows=4, num_evolutions=0)
    rows_of(gen)
    assert [r.sample for r in llm.requests] == [0, 1, 2, 3]
    assert [gen.first_prompt(i) for i in range(4)] == [EvolComplexityGenerator(llm=FakeLLM(), num_rows=4).first_prompt(i)
                                                        for i in range(4)]


def test_a_failed_round_gives_a_none_instruction_and_the_error() -> None:
    [row] = rows_of(EvolComplexityGenerator(llm=ScriptedLLM(answers=["Q?", None]), num_rows=1, name="g"))
    assert row["instruction"] is None and row["synthgen_metadata"]["error_g"] == "evolution 2: boom"


def test_evol_instruct_generator_uses_every_evol_instruct_mutation() -> None:
    gen = EvolInstructGenerator(llm=FakeLLM(), num_instructions=30, name="g")
    assert list(gen.mutation_templates) == list(DEFAULT_MUTATIONS)
    assert list(EvolComplexityGenerator(llm=FakeLLM(), num_rows=1).mutation_templates) == list(IN_DEPTH_MUTATIONS)
    used = {row["synthgen_metadata"]["mutations_g"][1] for row in rows_of(gen)}
    assert "breadth" in used and used <= set(DEFAULT_MUTATIONS)
