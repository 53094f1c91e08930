"""EvolComplexity: EvolInstruct with the in-depth mutations only."""

from __future__ import annotations

from synthgen.tasks.evol_complexity import IN_DEPTH_MUTATIONS, EvolComplexity
from synthgen.tasks.evol_instruct import EvolInstruct
from synthgen.testing.fake_llm import FakeLLM
from tests.tasks.scripted import ScriptedLLM, run_task


def test_only_in_depth_mutations_are_used() -> None:
    task = EvolComplexity(llm=FakeLLM(), name="e")
    assert list(task.mutation_templates) == list(IN_DEPTH_MUTATIONS) and "breadth" not in task.mutation_templates
    out = run_task(task, [{"instruction": f"Question {i}?"} for i in range(30)])
    assert {r["synthgen_metadata"]["mutations_e"][0] for r in out} == set(IN_DEPTH_MUTATIONS)


def test_columns_and_parsing_are_evol_instructs() -> None:
    task = EvolComplexity(llm=ScriptedLLM(answers=["#Rewritten Prompt#: Harder question?"]))
    assert task.inputs == ["instruction"] and task.outputs == ["evolved_instruction", "model_name"]
    assert run_task(task, [{"instruction": "Q?"}])[0]["evolved_instruction"] == "Harder question?"
    assert EvolComplexity.registered_name() == "evol_complexity" != EvolInstruct.registered_name()
