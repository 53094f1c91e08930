"""The reverse_text step passes synthgen's step contract and reverses text."""

from __future__ import annotations

from synthgen_reverse import ReverseText

from synthgen.testing.contracts import StepContract


class TestReverseTextContract(StepContract):
    step_factory = ReverseText
    sample_inputs = [[{"text": "abc"}, {"text": "synthgen"}]]


class TestReverseTextWithColumnsContract(StepContract):
    step_factory = staticmethod(lambda: ReverseText(column="generation", output_column="backwards"))
    sample_inputs = [[{"generation": "hello"}]]


def test_reverses_the_column_and_keeps_the_row() -> None:
    step = ReverseText()
    (batch,) = step.process([{"text": "abc", "id": 1}])
    assert batch == [{"text": "abc", "id": 1, "reversed": "cba"}]


def test_a_failed_upstream_generation_stays_none() -> None:
    step = ReverseText(column="generation")
    (batch,) = step.process([{"generation": None}])
    assert batch == [{"generation": None, "reversed": None}]
