"""Structured output: schemas from pydantic classes, parsing and validation messages."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from synthgen.llms.structured import example_for, parse_structured, schema_of


class Judgement(BaseModel):
    rating: int
    rationale: str


def test_schema_of_a_pydantic_class() -> None:
    assert schema_of(Judgement) == Judgement.model_json_schema()
    assert schema_of(None) is None


def test_parse_accepts_valid_json_and_code_fences() -> None:
    schema = schema_of(Judgement)
    assert parse_structured('```json\n{"rating": 4, "rationale": "ok"}\n```', schema) == {"rating": 4, "rationale": "ok"}


@pytest.mark.parametrize(("text", "message"), [
    ("not json", "output is not valid JSON"),
    ('{"rating": "high", "rationale": "x"}', r"\$.rating must be integer, got str"),
    ('{"rating": 3}', "missing required key 'rationale'"),
    ("[1]", r"\$ must be object, got list"),
])
def test_parse_rejects_invalid_output_with_a_reason(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_structured(text, schema_of(Judgement))


def test_example_for_follows_the_schema() -> None:
    schema = schema_of(Judgement)
    assert Judgement.model_validate(example_for(schema))
