from __future__ import annotations

import pytest

from synthgen.errors import StepError
from synthgen.steps import ConversationTemplate


def test_conversation_template_writes_a_user_and_an_assistant_turn() -> None:
    step = ConversationTemplate()
    rows = [{"instruction": "Hi?", "response": "Hello.", "id": 7}]
    out = next(step.process(rows))
    assert out == [{"instruction": "Hi?", "response": "Hello.", "id": 7, "conversation": [
        {"role": "user", "content": "Hi?"}, {"role": "assistant", "content": "Hello."}]}]
    assert step.input_columns() == {"instruction": True, "response": True}
    assert step.output_columns() == ["conversation"]


def test_conversation_template_names_the_missing_column() -> None:
    with pytest.raises(StepError, match="row has no column 'response'"):
        next(ConversationTemplate(name="conv").process([{"instruction": "x"}]))


def test_conversation_template_is_registered() -> None:
    from synthgen.plugins import get_registry

    assert get_registry().get_step("conversation_template") is ConversationTemplate
