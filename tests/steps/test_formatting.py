from __future__ import annotations

import hashlib

import pytest

from synthgen.errors import StepError
from synthgen.steps.base import Step
from synthgen.steps.formatting import FormatTextGenerationDPO, FormatTextGenerationSFT, pick_pair

SHA_Q = hashlib.sha256(b"q").hexdigest()


def _one(step: Step, row: dict) -> dict:
    step.load()
    try:
        return next(iter(step.process([row])))[0]
    finally:
        step.unload()


def _chat(answer: str, system: str | None = None) -> list[dict]:
    messages = [{"role": "user", "content": "q"}, {"role": "assistant", "content": answer}]
    return ([{"role": "system", "content": system}] if system else []) + messages


# ---- SFT ---------------------------------------------------------------------------------------
def test_sft_adds_prompt_id_completion_and_messages_keeping_other_columns() -> None:
    out = _one(FormatTextGenerationSFT(), {"instruction": "q", "generation": "a", "model_name": "m"})
    assert out == {"instruction": "q", "generation": "a", "model_name": "m", "prompt": "q",
                   "prompt_id": SHA_Q, "completion": "a", "messages": _chat("a")}


def test_sft_system_prompt_opens_the_messages() -> None:
    out = _one(FormatTextGenerationSFT(), {"instruction": "q", "generation": "a", "system_prompt": "be brief"})
    assert out["messages"] == _chat("a", "be brief")


def test_sft_failed_generation_gives_none_completion_and_messages() -> None:
    out = _one(FormatTextGenerationSFT(), {"instruction": "q", "generation": None})
    assert (out["completion"], out["messages"], out["prompt_id"]) == (None, None, SHA_Q)


def test_sft_columns() -> None:
    step = FormatTextGenerationSFT()
    assert step.input_columns() == {"system_prompt": False, "instruction": True, "generation": True}
    assert step.columns_after({"instruction", "generation"}) == {
        "instruction", "generation", "prompt", "prompt_id", "completion", "messages"}


# ---- DPO ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("ratings", "pair"),
    [
        ([1, 5, 3], (1, 0)),
        ([5, 1, 5, 1], (0, 1)),
        ([None, 2, None, 4], (3, 1)),
        ([3, 3], (0, 1)),
        ([None, 4], None),
        ([4], None),
        ([], None),
    ],
    ids=["basic", "first-among-equals", "none-ignored", "tie", "one-rated", "one", "empty"],
)
def test_pick_pair_highest_and_lowest_of_the_others(ratings: list, pair: tuple | None) -> None:
    assert pick_pair(ratings) == pair


def test_dpo_builds_chosen_and_rejected_chats_with_ratings() -> None:
    row = {"instruction": "q", "generations": ["bad", "good", "ok"], "ratings": [1, 9, 5]}
    out = _one(FormatTextGenerationDPO(), row)
    assert out == {**row, "prompt": "q", "prompt_id": SHA_Q, "chosen": _chat("good"), "chosen_rating": 9,
                   "rejected": _chat("bad"), "rejected_rating": 1}


def test_dpo_adds_models_and_system_prompt_when_present() -> None:
    row = {"instruction": "q", "generations": ["x", "y"], "ratings": [2, 7],
           "generation_models": ["m1", "m2"], "system_prompt": "sys"}
    out = _one(FormatTextGenerationDPO(), row)
    assert (out["chosen_model"], out["rejected_model"]) == ("m2", "m1")
    assert out["chosen"] == _chat("y", "sys")


@pytest.mark.parametrize(
    "row",
    [
        {"instruction": "q", "generations": ["x", "y"], "ratings": [None, 3]},
        {"instruction": "q", "generations": None, "ratings": None},
        {"instruction": "q", "generations": ["x"], "ratings": [3]},
        {"instruction": "q", "generations": None, "ratings": [1, 2]},
        {"instruction": "q", "generations": ["x", "y"], "ratings": None},
    ],
    ids=["one-rated", "failed-generation", "single-generation", "no-generations", "failed-judge"],
)
def test_dpo_keeps_rows_without_a_pair_with_none_pair_columns(row: dict) -> None:
    out = _one(FormatTextGenerationDPO(), {**row, "generation_models": ["m"]})
    for column in ("chosen", "rejected", "chosen_rating", "rejected_rating", "chosen_model", "rejected_model"):
        assert out[column] is None
    assert out["prompt_id"] == SHA_Q


def test_dpo_ratings_must_match_generations() -> None:
    with pytest.raises(StepError, match="row has 2 generations but 3 ratings"):
        _one(FormatTextGenerationDPO(name="dpo"), {"instruction": "q", "generations": ["a", "b"], "ratings": [1, 2, 3]})


@pytest.mark.parametrize(
    ("incoming", "models"),
    [({"instruction", "generations", "ratings"}, False),
     ({"instruction", "generations", "ratings", "generation_models"}, True)],
    ids=["without-models", "with-models"],
)
def test_dpo_columns_after_adds_model_columns_only_with_generation_models(incoming: set, models: bool) -> None:
    after = FormatTextGenerationDPO().columns_after(incoming)
    assert after is not None
    assert {"prompt", "prompt_id", "chosen", "rejected", "chosen_rating", "rejected_rating"} <= after
    assert ({"chosen_model", "rejected_model"} <= after) is models


def test_dpo_required_inputs() -> None:
    required = [c for c, req in FormatTextGenerationDPO().input_columns().items() if req]
    assert required == ["instruction", "generations", "ratings"]


def test_none_instruction_keeps_the_row_without_prompt_id_or_pair() -> None:
    sft = _one(FormatTextGenerationSFT(), {"instruction": None, "generation": "a"})
    assert (sft["prompt_id"], sft["messages"], sft["completion"]) == (None, None, "a")
    dpo = _one(FormatTextGenerationDPO(), {"instruction": None, "generations": ["a", "b"], "ratings": [1, 2]})
    assert (dpo["prompt_id"], dpo["chosen"], dpo["rejected"]) == (None, None, None)
