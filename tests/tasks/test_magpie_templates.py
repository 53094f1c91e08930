"""Chat formats for Magpie: conversations written out up to the opening of the next turn."""

from __future__ import annotations

import pytest

from synthgen.errors import ConfigError
from synthgen.tasks.magpie_templates import CHAT_FORMATS, chat_format

SYSTEM_AND_QUESTION = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi?"}]


@pytest.mark.parametrize(
    ("name", "pre_query"),
    [("llama3", "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n"),
     ("qwen2", "<|im_start|>user\n"), ("chatml", "<|im_start|>user\n"), ("gemma", "<bos><start_of_turn>user\n")],
)
def test_the_pre_query_template_is_the_opening_of_a_user_turn(name: str, pre_query: str) -> None:
    assert chat_format(name).render([], "user") == pre_query


def test_llama3_writes_every_turn_and_opens_the_next() -> None:
    assert chat_format("llama3").render(SYSTEM_AND_QUESTION, "assistant") == (
        "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
        "<|start_header_id|>user<|end_header_id|>\n\nHi?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n")


def test_gemma_has_no_system_turn_and_calls_the_assistant_model() -> None:
    gemma = chat_format("gemma")
    assert gemma.render(SYSTEM_AND_QUESTION, "assistant") == (
        "<bos><start_of_turn>user\nBe brief.\n\nHi?<end_of_turn>\n<start_of_turn>model\n")
    # Before any user turn, the system prompt opens the user turn the model is to write.
    assert gemma.render(SYSTEM_AND_QUESTION[:1], "user") == "<bos><start_of_turn>user\nBe brief.\n\n"


@pytest.mark.parametrize("name", sorted(CHAT_FORMATS))
def test_generation_stops_at_the_end_of_the_turn_or_the_next_opening(name: str) -> None:
    fmt = chat_format(name)
    assert all(stop and stop in fmt.render(SYSTEM_AND_QUESTION, "assistant") for stop in fmt.stop)


def test_an_unknown_template_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError, match="Magpie template 'llama2' is unknown. Choose one of: llama3, chatml, gemma"):
        chat_format("llama2")
