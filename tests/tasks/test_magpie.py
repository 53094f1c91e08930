"""Magpie and MagpieGenerator: raw pre-query prompts, turns, samples per row, system prompts, failures."""

from __future__ import annotations

from typing import Any

import pytest

from synthgen import Pipeline
from synthgen.errors import ConfigError
from synthgen.llms import AnthropicLLM, OpenAILLM
from synthgen.llms.requests import RawPrompt
from synthgen.steps.loaders.dicts import LoadDataFromDicts
from synthgen.tasks.magpie import Magpie, MagpieGenerator, clean_turn
from synthgen.testing.fake_llm import FakeLLM
from synthgen.testing.replies import shaped_reply
from tests.tasks.scripted import ScriptedLLM, run_task

LLAMA3_USER = "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n"


def test_outputs_follow_distilabels_modes() -> None:
    assert Magpie(llm=FakeLLM()).outputs == ["instruction", "response", "model_name"]
    assert Magpie(llm=FakeLLM(), only_instruction=True).outputs == ["instruction", "model_name"]
    assert Magpie(llm=FakeLLM(), n_turns=2).outputs == ["conversation", "model_name"]
    assert Magpie(llm=FakeLLM(), system_prompt={"a": "A"}).outputs == ["instruction", "response", "system_prompt_key",
                                                                        "model_name"]
    assert Magpie(llm=FakeLLM()).inputs == {"system_prompt": False}


def test_the_first_prompt_is_the_raw_pre_query_template() -> None:
    prompt = Magpie(llm=FakeLLM()).format_input({})
    assert isinstance(prompt, RawPrompt) and prompt == LLAMA3_USER


def test_one_turn_sends_the_instruction_then_the_answer_prompt() -> None:
    llm = ScriptedLLM(answers=["What is a tide?<|eot_id|>", "The rise and fall of the sea."])
    [row] = run_task(Magpie(llm=llm, name="m"), [{}])
    assert (row["instruction"], row["response"]) == ("What is a tide?", "The rise and fall of the sea.")
    assert [str(r.input) for r in llm.requests] == [
        LLAMA3_USER,
        LLAMA3_USER + "What is a tide?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"]
    assert all(isinstance(r.input, RawPrompt) for r in llm.requests)
    assert "<|eot_id|>" in llm.requests[0].params["stop"]
    assert row["synthgen_metadata"]["raw_output_m"][0] == "What is a tide?<|eot_id|>"


def test_several_turns_make_a_conversation_that_can_end_with_the_user() -> None:
    llm = ScriptedLLM(answers=["Q1", "A1", "Q2"])
    task = Magpie(llm=llm, n_turns=2, end_with_user=True, template="chatml", system_prompt="Be kind.",
                  include_system_prompt=True)
    [row] = run_task(task, [{}])
    assert row["conversation"] == [{"role": "system", "content": "Be kind."}, {"role": "user", "content": "Q1"},
                                   {"role": "assistant", "content": "A1"}, {"role": "user", "content": "Q2"}]
    assert str(llm.requests[2].input) == ("<|im_start|>system\nBe kind.<|im_end|>\n<|im_start|>user\nQ1<|im_end|>\n"
                                          "<|im_start|>assistant\nA1<|im_end|>\n<|im_start|>user\n")


def test_identical_rows_are_different_samples_and_a_rows_system_prompt_wins() -> None:
    llm = ScriptedLLM(answers=["q"])
    run_task(Magpie(llm=llm, only_instruction=True), [{}, {}, {"system_prompt": "Be terse."}])
    assert [r.sample for r in llm.requests] == [0, 1, 0]
    assert "Be terse." in str(llm.requests[2].input)


def test_the_generator_makes_num_rows_rows_each_its_own_sample_in_batches() -> None:
    llm = ScriptedLLM(answers=["x"])
    gen = MagpieGenerator(llm=llm, num_rows=5, batch_size=2, name="g")
    batches = list(gen.process())
    assert [(len(rows), last) for rows, last in batches] == [(2, False), (2, False), (1, True)]
    assert sorted({r.sample for r in llm.requests}) == [0, 1, 2, 3, 4]
    assert all(r["instruction"] == r["response"] == "x" for rows, _ in batches for r in rows)
    assert [len(rows) for rows, _ in gen.process(offset=4)] == [1], "a resumed run starts at its offset"


def test_named_system_prompts_are_picked_by_weight_reproducibly() -> None:
    prompts = {"math": ("You teach math.", 0.7), "code": ("You write code.", 0.3)}
    rows = [r for rows, _ in MagpieGenerator(llm=FakeLLM(), num_rows=40, system_prompt=prompts).process() for r in rows]
    again = [r for rows, _ in MagpieGenerator(llm=FakeLLM(), num_rows=40, system_prompt=prompts).process() for r in rows]
    keys = [r["system_prompt_key"] for r in rows]
    assert keys == [r["system_prompt_key"] for r in again] and set(keys) == {"math", "code"}


def test_a_failed_or_empty_turn_ends_the_conversation_and_is_recorded() -> None:
    out = run_task(Magpie(llm=ScriptedLLM(answers=["Q", None, "  <|eot_id|>"]), name="m"), [{}, {}])
    assert (out[0]["instruction"], out[0]["response"]) == ("Q", None)
    assert out[0]["synthgen_metadata"]["error_m"] == "turn 2 (assistant): the model wrote an empty turn"
    assert (out[1]["instruction"], out[1]["response"]) == (None, None)
    assert out[1]["synthgen_metadata"]["error_m"] == "turn 1 (user): boom"


def test_clean_turn_cuts_at_a_stop_marker_a_server_did_not_honour() -> None:
    assert clean_turn("Hi?<|eot_id|><|start_header_id|>assistant", ["<|eot_id|>"]) == "Hi?"
    assert clean_turn(None, []) is None


def test_a_backend_that_cannot_send_raw_prompts_is_refused_at_construction() -> None:
    with pytest.raises(ConfigError, match="Magpie needs a backend that sends a raw prompt .* the anthropic backend"):
        Magpie(llm=AnthropicLLM(model="claude", api_key="k"))
    with pytest.raises(ConfigError, match="the openai backend for 'gpt-4o' cannot"):
        MagpieGenerator(llm=OpenAILLM(model="gpt-4o", api_key="k"), num_rows=1)


@pytest.mark.parametrize(("kwargs", "message"), [({"template": "vicuna"}, "Magpie template 'vicuna' is unknown"),
                                                 ({"end_with_user": True}, "set only_instruction=true instead")])
def test_bad_settings_are_config_errors(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Magpie(llm=FakeLLM(), **kwargs)


def test_a_pipeline_writes_conversations_through_the_completions_endpoint(openai_server, tmp_path) -> None:  # type: ignore[no-untyped-def]
    openai_server.reply_fn = shaped_reply

    def build() -> Pipeline:
        with Pipeline(name="magpie", cache_dir=tmp_path) as p:
            llm = OpenAILLM(model="m", base_url=openai_server.base_url, api_key="k")
            MagpieGenerator(name="magpie", llm=llm, num_rows=3, batch_size=2)
        return p

    rows = build().run()["default"]["train"].to_list()
    assert [(r["instruction"], r["response"]) for r in rows] == [
        ("How do tides work?", "Here is a short answer to: How do tides work?")] * 3
    assert openai_server.counters.requests == 6
    assert build().run()["default"]["train"].to_list() == rows
    assert openai_server.counters.requests == 6


def test_magpie_after_a_loader_of_system_prompts(openai_server, tmp_path) -> None:  # type: ignore[no-untyped-def]
    openai_server.reply_fn = shaped_reply
    with Pipeline(name="magpie_sp", cache_dir=tmp_path) as p:
        llm = OpenAILLM(model="m", base_url=openai_server.base_url, api_key="k")
        load = LoadDataFromDicts(data=[{"system_prompt": "You teach."}, {"system_prompt": "You code."}])
        load >> Magpie(name="magpie", llm=llm, n_turns=2, template="gemma")
    rows = p.run()["default"]["train"].to_list()
    assert [len(r["conversation"]) for r in rows] == [4, 4]
    assert rows[0]["conversation"][1]["content"].endswith("How do tides work?")
