"""FakeLLM: deterministic, offline, registered as ``fake``, with schema-following structured output."""

from __future__ import annotations

import json
import pickle

from synthgen.testing import FakeLLM


def test_same_request_same_answer_across_instances() -> None:
    assert FakeLLM().generate(["x"]) == FakeLLM().generate(["x"])


def test_type_name_and_dump() -> None:
    assert FakeLLM.type_name == "fake"
    assert FakeLLM(model="m").dump() == {"type": "fake", "class": "synthgen.testing.fake_llm:FakeLLM",
                                         "generation_kwargs": {}, "model": "m", "prefix": "fake:", "fail_on": []}


def test_max_new_tokens_truncates_and_schema_is_followed() -> None:
    [out] = FakeLLM().generate(["one two three"], max_new_tokens=2)
    assert len(out["generations"][0].split()) == 2
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
    assert json.loads(FakeLLM().generate(["q"], structured_output=schema)[0]["generations"][0]) == {"n": 1}


def test_fail_on_records_an_error_and_pickles() -> None:
    llm = pickle.loads(pickle.dumps(FakeLLM(fail_on=["boom"])))
    [out] = llm.generate(["boom"])
    assert out["generations"] == [None] and "fail_on" in out["errors"][0]
