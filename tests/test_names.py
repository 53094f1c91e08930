"""The one rule for names that become paths."""

from __future__ import annotations

import pytest

from synthgen.errors import PlanError
from synthgen.names import MAX_NAME_LENGTH, check_name, is_valid_name


@pytest.mark.parametrize("name", ["a", "text_generation_0", "Step-2.v1", "_x", "-", "a..b", "x" * MAX_NAME_LENGTH])
def test_plain_names_pass(name: str) -> None:
    assert is_valid_name(name) and check_name("step", name) == name


@pytest.mark.parametrize(("name", "suggestion"), [
    ("../../victim", "victim"), ("a/b", "a_b"), (".hidden", "hidden"), ("", "my_name"), ("two words", "two_words"),
    ("ünï", "n"), ("x" * (MAX_NAME_LENGTH + 1), "x" * MAX_NAME_LENGTH),
])
def test_other_names_fail_with_the_name_the_rule_and_a_suggestion(name: str, suggestion: str) -> None:
    with pytest.raises(PlanError) as info:
        check_name("pipeline", name)
    message = str(info.value)
    assert message.startswith("pipeline name ") and "cannot be used" in message and "\n" not in message
    assert "letters, digits, '_', '.' and '-' only, not starting with '.', at most 100 characters" in message
    assert message.endswith(f"(e.g. {suggestion!r})")


def test_a_name_that_is_not_text_fails() -> None:
    with pytest.raises(PlanError, match="step name"):
        check_name("step", 3)
