"""Task base: metadata column, errors per row, generations grouped or not, fingerprints, lifecycle."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel

from synthgen.llms import OpenAILLM
from synthgen.plan import step_fingerprint
from synthgen.tasks import ChatGeneration, TextGeneration
from synthgen.testing import FakeLLM


def run(task: Any, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    task.load()
    try:
        return [row for batch in task.process(rows) for row in batch]
    finally:
        task.unload()


def test_rows_get_generation_model_name_and_metadata() -> None:
    task = TextGeneration(name="gen", llm=FakeLLM(model="fm"))
    [row] = run(task, [{"instruction": "hello", "id": 1}])
    assert row["id"] == 1 and row["generation"].endswith(" hello") and row["model_name"] == "fm"
    meta = row["synthgen_metadata"]
    assert meta["statistics_gen"] == {"input_tokens": [1], "output_tokens": [2]}
    assert meta["raw_output_gen"] == row["generation"]
    assert meta["raw_input_gen"] == [{"role": "user", "content": "hello"}]
    assert meta["error_gen"] is None
    assert meta["model_name_gen"] == "fm", "per-row provenance survives a later task's model_name"


def test_raw_output_and_input_can_be_left_out() -> None:
    task = TextGeneration(name="gen", llm=FakeLLM(), add_raw_output=False, add_raw_input=False)
    [row] = run(task, [{"instruction": "x"}])
    assert set(row["synthgen_metadata"]) == {"model_name_gen", "statistics_gen", "error_gen"}


def test_metadata_of_an_upstream_task_is_kept() -> None:
    task = TextGeneration(name="second", llm=FakeLLM())
    [row] = run(task, [{"instruction": "x", "synthgen_metadata": {"error_first": None}}])
    assert "error_first" in row["synthgen_metadata"] and "error_second" in row["synthgen_metadata"]


def test_one_row_per_generation_unless_grouped() -> None:
    rows = run(TextGeneration(llm=FakeLLM(), num_generations=3), [{"instruction": "a"}, {"instruction": "b"}])
    assert [r["instruction"] for r in rows] == ["a", "a", "a", "b", "b", "b"]
    [grouped] = run(TextGeneration(name="g", llm=FakeLLM(), num_generations=3, group_generations=True),
                    [{"instruction": "a"}])
    assert len(grouped["generation"]) == 3
    assert grouped["synthgen_metadata"]["statistics_g"]["output_tokens"] == [2, 2, 2]


def test_a_failed_row_is_kept_with_none_and_its_error() -> None:
    task = TextGeneration(name="gen", llm=FakeLLM(fail_on=["BAD"]))
    ok, bad = run(task, [{"instruction": "fine"}, {"instruction": "BAD input"}])
    assert ok["generation"] is not None and ok["synthgen_metadata"]["error_gen"] is None
    assert bad["generation"] is None
    assert "fail_on marker" in bad["synthgen_metadata"]["error_gen"]


class Verdict(BaseModel):
    label: str
    score: int


def test_structured_output_gives_the_parsed_object() -> None:
    [row] = run(TextGeneration(llm=FakeLLM(), structured_output=Verdict), [{"instruction": "judge"}])
    assert row["generation"] == {"label": "text", "score": 1}


def test_output_that_breaks_the_schema_is_a_row_error(openai_server) -> None:
    openai_server.reply_fn = lambda body: json.dumps({"label": "x", "score": "high"})
    llm = OpenAILLM(model="m", base_url=openai_server.base_url, api_key="k")
    [row] = run(TextGeneration(name="judge", llm=llm, structured_output=Verdict), [{"instruction": "j"}])
    assert row["generation"] is None
    assert row["synthgen_metadata"]["error_judge"] == (
        "could not parse the output: output does not match the schema: $.score must be integer, got str")


def test_fingerprint_follows_model_and_generation_params_not_knobs_or_keys() -> None:
    def task(**llm: Any) -> TextGeneration:
        return TextGeneration(name="t", llm=OpenAILLM(model=llm.pop("model", "a"), **llm))

    base = step_fingerprint(task(generation_kwargs={"temperature": 0.1}))
    assert base == step_fingerprint(task(generation_kwargs={"temperature": 0.1}, api_key="sk-1",
                                         max_concurrency=2, max_retries=1, circuit_breaker_threshold=3))
    assert base != step_fingerprint(task(generation_kwargs={"temperature": 0.7}))
    assert base != step_fingerprint(task(model="b", generation_kwargs={"temperature": 0.1}))
    assert "sk-1" not in json.dumps(task(api_key="sk-1").dump())


def test_runtime_parameters_reach_the_llm() -> None:
    task = TextGeneration(llm=OpenAILLM(model="m"))
    task.set_runtime_parameters({"llm": {"generation_kwargs": {"max_new_tokens": 7}}})
    assert task.llm.generation_kwargs == {"max_new_tokens": 7}
    assert task.runtime_parameters()["llm"]["generation_kwargs"] == {"max_new_tokens": 7}


def test_window_spans_batches_for_api_llms_only() -> None:
    api = TextGeneration(llm=OpenAILLM(model="m", max_concurrency=64), input_batch_size=50)
    assert api.max_batches_in_flight == 4  # 2 x 64 requests in batches of 50, plus one
    assert TextGeneration(llm=FakeLLM()).max_batches_in_flight == 1


def test_columns() -> None:
    task = ChatGeneration(llm=FakeLLM())
    assert task.inputs == ["messages"]
    assert task.columns_after({"messages"}) == {"messages", "generation", "model_name", "synthgen_metadata"}


def test_every_builtin_task_is_exported_where_the_architecture_says() -> None:
    from synthgen.tasks import ChatGeneration, EvolInstruct, SelfInstruct, TextGeneration, UltraFeedback

    assert [t.__name__ for t in (ChatGeneration, EvolInstruct, SelfInstruct, TextGeneration, UltraFeedback)] == [
        "ChatGeneration", "EvolInstruct", "SelfInstruct", "TextGeneration", "UltraFeedback"]
