"""TruncateTextColumn: by characters, or by tokens with a tokenizer."""

from __future__ import annotations

import importlib.util

import pytest

from synthgen.errors import ConfigError, StepError
from synthgen.steps.truncate import TruncateTextColumn


def test_text_is_cut_by_characters_without_a_tokenizer() -> None:
    step = TruncateTextColumn(column="body", max_length=5)
    rows = next(step.process([{"body": "abcdefgh"}, {"body": "abc"}, {"body": None}]))
    assert [r["body"] for r in rows] == ["abcde", "abc", None]
    assert step.inputs == step.outputs == ["body"]


class WordTokenizer:
    """Tokens are words: enough to check that the step cuts by tokens, not characters."""

    def encode(self, text: str, add_special_tokens: bool = False) -> list[str]:
        return text.split()

    def decode(self, ids: list[str]) -> str:
        return " ".join(ids)


def test_text_is_cut_by_tokens_with_a_tokenizer() -> None:
    step = TruncateTextColumn(max_length=2)
    step._tokenizer = WordTokenizer()
    [row] = next(step.process([{"text": "one two three"}]))
    assert row["text"] == "one two"


def test_a_value_that_is_not_text_is_an_error() -> None:
    with pytest.raises(StepError, match="column 'text' holds a int, not text"):
        next(TruncateTextColumn().process([{"text": 3}]))


@pytest.mark.skipif(importlib.util.find_spec("transformers") is not None, reason="transformers is installed here")
def test_a_tokenizer_without_transformers_says_how_to_fix_it() -> None:
    with pytest.raises(ConfigError, match="needs transformers: pip install transformers"):
        TruncateTextColumn(tokenizer="gpt2")
