"""FormatChatGenerationSFT / DPO: conversations plus the answer as training columns."""

from __future__ import annotations

import pytest

from synthgen.errors import StepError
from synthgen.steps.formatting import prompt_id
from synthgen.steps.formatting_chat import FormatChatGenerationDPO, FormatChatGenerationSFT

CHAT = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello"}, {"role": "user", "content": "2+2?"}]


def test_sft_appends_the_generation_and_names_the_last_user_message_the_prompt() -> None:
    [row] = next(FormatChatGenerationSFT().process([{"messages": CHAT, "generation": "4"}]))
    assert row["prompt"] == "2+2?" and row["prompt_id"] == prompt_id("2+2?")
    assert row["messages"] == [*CHAT, {"role": "assistant", "content": "4"}]


def test_sft_keeps_a_failed_generation_without_messages() -> None:
    [row] = next(FormatChatGenerationSFT().process([{"messages": CHAT, "generation": None}]))
    assert row["messages"] is None and row["prompt"] == "2+2?"


def test_dpo_picks_the_best_and_the_worst_answer_with_their_models() -> None:
    rows = [{"messages": CHAT, "generations": ["5", "4", "22"], "ratings": [2, 5, 1],
             "generation_models": ["a", "b", "c"]}]
    [row] = next(FormatChatGenerationDPO().process(rows))
    assert row["chosen"] == [*CHAT, {"role": "assistant", "content": "4"}] and row["chosen_rating"] == 5
    assert row["rejected"][-1]["content"] == "22" and row["rejected_rating"] == 1
    assert (row["chosen_model"], row["rejected_model"]) == ("b", "c")
    assert row["prompt"] == "2+2?"


def test_dpo_without_two_ratings_keeps_the_row_without_a_pair() -> None:
    [row] = next(FormatChatGenerationDPO().process([{"messages": CHAT, "generations": ["4", "5"], "ratings": [None, 3]}]))
    assert row["chosen"] is None and row["rejected"] is None and "chosen_model" not in row


def test_dpo_rejects_ratings_that_do_not_match_the_generations() -> None:
    with pytest.raises(StepError, match="row has 2 generations but 1 ratings"):
        next(FormatChatGenerationDPO().process([{"messages": CHAT, "generations": ["a", "b"], "ratings": [1]}]))
