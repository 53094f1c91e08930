"""StructuredGeneration: a JSON schema per row, sent to the backend, the answer checked against it."""

from __future__ import annotations

import json

import pytest

from synthgen.errors import StepError
from synthgen.tasks.structured_generation import StructuredGeneration
from synthgen.testing.fake_llm import FakeLLM
from tests.tasks.scripted import ScriptedLLM, run_task

CHARACTER = {"format": "json", "schema": {"type": "object", "properties": {"name": {"type": "string"},
                                                                          "age": {"type": "integer"}},
                                          "required": ["name", "age"]}}
CITY = {"format": "json", "schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}


def test_each_row_sends_its_own_schema_and_gets_json_text_back() -> None:
    llm = FakeLLM()
    out = run_task(StructuredGeneration(llm=llm), [{"instruction": "A hero", "structured_output": CHARACTER},
                                                   {"instruction": "A place", "structured_output": CITY}])
    assert [json.loads(r["generation"]) for r in out] == [{"name": "text", "age": 1}, {"city": "text"}]


def test_an_answer_that_breaks_the_schema_is_a_row_error_with_its_raw_text() -> None:
    llm = ScriptedLLM(answers=['{"name": "Ann"}'])
    [row] = run_task(StructuredGeneration(llm=llm, name="s"), [{"instruction": "x", "structured_output": CHARACTER}])
    assert row["generation"] is None
    assert "missing required key 'age'" in row["synthgen_metadata"]["error_s"]
    assert row["synthgen_metadata"]["raw_output_s"] == '{"name": "Ann"}'
    assert llm.requests[0].schema == CHARACTER["schema"]


def test_the_system_prompt_column_is_used_when_asked() -> None:
    task = StructuredGeneration(llm=FakeLLM(), use_system_prompt=True)
    chat = task.format_input({"instruction": "x", "structured_output": CITY, "system_prompt": "Be terse."})
    assert chat == [{"role": "system", "content": "Be terse."}, {"role": "user", "content": "x"}]


@pytest.mark.parametrize(("spec", "message"), [({"format": "regex", "schema": {}}, "format 'regex' is not supported"),
                                               ({"schema": "x"}, "must be {\"format\": \"json\"")])
def test_a_bad_structured_output_column_is_a_clear_error(spec: object, message: str) -> None:
    with pytest.raises(StepError, match=message):
        StructuredGeneration(llm=FakeLLM()).structured_output_for({"structured_output": spec})
