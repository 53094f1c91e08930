"""OpenAILLM against the OpenAI-compatible test server, through the real ``openai`` client."""

from __future__ import annotations

import json
import logging

import pytest
from pydantic import BaseModel

from synthgen.errors import LLMError
from synthgen.llms import OpenAILLM

SECRET = "sk-test-secret-123"


@pytest.fixture
def llm(openai_server):  # type: ignore[no-untyped-def]
    llm = OpenAILLM(model="test-model", base_url=openai_server.base_url, api_key=SECRET, max_retries=3)
    llm.load()
    yield llm
    llm.unload()


def chat(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


def test_generate_returns_generations_and_statistics(llm) -> None:
    [out] = llm.generate([chat("hello world")], num_generations=2)
    assert out == {"generations": ["Echo: hello world"] * 2,
                   "statistics": {"input_tokens": [2, 2], "output_tokens": [3, 3]}}


def test_prompt_strings_are_sent_as_a_user_message(llm) -> None:
    assert llm.generate(["plain prompt"])[0]["generations"] == ["Echo: plain prompt"]


def test_max_new_tokens_becomes_max_tokens(llm, openai_server) -> None:
    seen: list[dict] = []
    openai_server.reply_fn = lambda body: seen.append(body) or "one two three four"
    [out] = llm.generate([chat("x")], max_new_tokens=2)
    assert seen[0]["max_tokens"] == 2 and "max_new_tokens" not in seen[0]
    assert out["generations"] == ["one two"]


def test_generation_kwargs_field_is_sent(openai_server) -> None:
    seen: list[dict] = []
    openai_server.reply_fn = lambda body: seen.append(body) or "ok"
    llm = OpenAILLM(model="m", base_url=openai_server.base_url, api_key=SECRET,
                    generation_kwargs={"temperature": 0.3, "top_k": 5})
    llm.load()
    try:
        llm.generate(["x"])
    finally:
        llm.unload()
    assert seen[0]["temperature"] == 0.3 and seen[0]["top_k"] == 5  # unknown names go in extra_body


class Rating(BaseModel):
    score: int
    reason: str


def test_structured_output_sends_a_json_schema_response_format(llm, openai_server) -> None:
    seen: list[dict] = []
    openai_server.reply_fn = lambda body: seen.append(body) or json.dumps({"score": 4, "reason": "ok"})
    [out] = llm.generate([chat("rate")], structured_output=Rating)
    assert seen[0]["response_format"]["type"] == "json_schema"
    assert seen[0]["response_format"]["json_schema"]["schema"] == Rating.model_json_schema()
    assert json.loads(out["generations"][0]) == {"score": 4, "reason": "ok"}


def test_429_with_retry_after_is_retried(llm, openai_server) -> None:
    openai_server.inject(429, count=2, retry_after=0.05)
    assert llm.generate([chat("a")])[0]["generations"] == ["Echo: a"]
    assert openai_server.counters.faults["429"] == 2 and openai_server.counters.answered == 1


def test_500_is_retried(llm, openai_server) -> None:
    openai_server.inject(500, count=1)
    assert llm.generate([chat("a")])[0]["generations"] == ["Echo: a"]


def test_timeouts_are_retried(openai_server) -> None:
    openai_server.hang = 2.0
    openai_server.inject(timeout=True)
    llm = OpenAILLM(model="m", base_url=openai_server.base_url, api_key=SECRET, timeout=0.3)
    llm.load()
    try:
        assert llm.generate([chat("slow")])[0]["generations"] == ["Echo: slow"]
    finally:
        llm.unload()


def test_a_row_that_keeps_failing_gets_none_and_the_error(llm, openai_server) -> None:
    openai_server.inject(500, count=4)  # 1 try + 3 retries
    [out] = llm.generate([chat("a")])
    assert out["generations"] == [None]
    assert out["errors"][0].startswith("HTTP 500 InternalServerError")


def test_window_reaches_max_concurrency(openai_server) -> None:
    openai_server.latency = 0.1
    llm = OpenAILLM(model="m", base_url=openai_server.base_url, api_key=SECRET, max_concurrency=16)
    llm.load()
    try:
        llm.generate([chat(str(i)) for i in range(64)])
    finally:
        llm.unload()
    assert openai_server.counters.max_in_flight == 16


def test_request_cache_answers_a_second_run_without_requests(openai_server, active_store) -> None:
    def run() -> list:
        llm = OpenAILLM(model="m", base_url=openai_server.base_url, api_key=SECRET)
        llm.load()
        try:
            return llm.generate([chat("a"), chat("b")], num_generations=2)
        finally:
            llm.unload()

    first = run()
    assert openai_server.counters.requests == 4 and openai_server.counters.duplicates == 0
    assert run() == first
    assert openai_server.counters.requests == 4


def test_missing_key_fails_at_load_naming_the_variable(monkeypatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    llm = OpenAILLM(model="m")  # OpenAI itself; nothing is sent by load()
    with pytest.raises(LLMError, match="set the OPENAI_API_KEY environment variable"):
        llm.load()


def test_a_server_on_this_machine_needs_no_key(monkeypatch, openai_server) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    llm = OpenAILLM(model="m", base_url=openai_server.base_url)  # 127.0.0.1: a local vLLM or llama.cpp
    llm.load()
    try:
        assert llm.generate(["hi"])[0]["generations"] == ["Echo: hi"]
    finally:
        llm.unload()


def test_a_missing_key_stops_the_run_before_any_request(monkeypatch, openai_server, tmp_path) -> None:
    """The generator's LLM has a key, the judge's (a later load stage) has none: nothing is sent."""
    from synthgen import Pipeline
    from synthgen.steps.loaders import LoadDataFromDicts
    from synthgen.tasks import TextGeneration

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with Pipeline(name="keys", cache_dir=tmp_path) as p:
        first = TextGeneration(name="first", llm=OpenAILLM(model="m", base_url=openai_server.base_url, api_key=SECRET))
        second = TextGeneration(name="second", llm=OpenAILLM(model="gpt-4o-mini"), input_mappings={"instruction": "generation"})
        LoadDataFromDicts(data=[{"instruction": "x"}]) >> first >> second
    with pytest.raises(LLMError, match="no API key for the openai LLM 'gpt-4o-mini'"):
        p.run(load_groups="sequential_step_execution")
    assert openai_server.counters.requests == 0


def test_key_is_read_from_the_environment(monkeypatch, openai_server) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    llm = OpenAILLM(model="m", base_url=openai_server.base_url)
    llm.load()
    try:
        assert llm.generate(["x"])[0]["generations"] == ["Echo: x"]
    finally:
        llm.unload()


def test_unreachable_server_opens_the_circuit_breaker() -> None:
    llm = OpenAILLM(model="m", base_url="http://127.0.0.1:9/v1", api_key=SECRET, max_retries=0,
                    circuit_breaker_threshold=3, max_concurrency=1)
    llm.load()
    try:
        with pytest.raises(LLMError, match="circuit breaker.*Last error: APIConnectionError"):
            llm.generate([chat(str(i)) for i in range(20)])
    finally:
        llm.unload()


def test_the_key_never_shows_in_dump_repr_logs_or_errors(llm, openai_server, caplog) -> None:
    from loguru import logger

    handler = logger.add(lambda message: logging.getLogger("t").warning(message), level="DEBUG")
    openai_server.inject(500, count=4)
    try:
        out = llm.generate([chat("a")])
    finally:
        logger.remove(handler)
    assert SECRET not in json.dumps(llm.dump())
    assert SECRET not in repr(llm) and SECRET not in str(llm)
    assert SECRET not in caplog.text and "request failed" in caplog.text
    assert SECRET not in str(out)


def test_cache_key_ignores_secret_and_port(openai_server) -> None:
    a = OpenAILLM(model="m", base_url="http://127.0.0.1:1/v1", api_key="k1")
    b = OpenAILLM(model="m", base_url="http://127.0.0.1:2/v1", api_key="k2", max_concurrency=3)
    assert a.cache_identity() == b.cache_identity()
    assert a.fingerprint_params() == b.fingerprint_params()
    assert "k1" not in json.dumps(a.fingerprint_params())


def test_the_key_is_in_no_file_a_run_writes(openai_server, tmp_path) -> None:
    """pipeline.yaml, batch records, request cache, leaf data, the saved Distiset and its card."""
    from synthgen import Pipeline
    from synthgen.steps.loaders import LoadDataFromDicts
    from synthgen.tasks import TextGeneration

    with Pipeline(name="secret", cache_dir=tmp_path / "cache") as p:
        llm = OpenAILLM(model="m", base_url=openai_server.base_url, api_key=SECRET)
        LoadDataFromDicts(data=[{"instruction": f"q{i}"} for i in range(3)]) >> TextGeneration(llm=llm)
    p.run().save_to_disk(str(tmp_path / "saved"))
    files = [f for f in tmp_path.rglob("*") if f.is_file()]
    assert any(f.name == "pipeline.yaml" for f in files) and any(f.name == "README.md" for f in files)
    assert [f for f in files if SECRET.encode() in f.read_bytes()] == []


def test_a_raw_prompt_goes_to_the_completions_endpoint_as_it_is(llm, openai_server) -> None:
    from synthgen.llms.requests import RawPrompt

    seen: list[dict] = []
    openai_server.reply_fn = lambda body: seen.append(body) or "a raw continuation"
    [out] = llm.generate([RawPrompt("<|im_start|>user\n")], max_new_tokens=8)
    assert seen == [{"model": "test-model", "prompt": "<|im_start|>user\n", "max_tokens": 8}]
    assert out["generations"] == ["a raw continuation"] and out["statistics"]["input_tokens"][0] > 0
    assert llm.supports_raw_prompt
    assert not OpenAILLM(model="gpt-4o", api_key="k").supports_raw_prompt, "OpenAI serves /completions for legacy models only"


@pytest.mark.parametrize(("mode", "expected"), [("json_schema", "json_schema"), ("json_object", "json_object"),
                                                ("none", None), ("auto", "json_schema")])
def test_structured_output_setting_decides_the_response_format(openai_server, mode, expected) -> None:
    seen: list[dict] = []
    openai_server.reply_fn = lambda body: seen.append(body) or json.dumps({"score": 4, "reason": "ok"})
    llm = OpenAILLM(model="m", base_url=openai_server.base_url, api_key=SECRET, structured_output=mode)
    llm.load()
    try:
        llm.generate([chat("rate")], structured_output=Rating)
    finally:
        llm.unload()
    assert (seen[0].get("response_format") or {}).get("type") == expected
    assert llm.supports_structured_output == (mode in ("auto", "json_schema"))


def test_auto_falls_back_to_json_object_then_to_no_schema_when_the_server_refuses(openai_server) -> None:
    seen: list[dict] = []
    openai_server.reply_fn = lambda body: seen.append(body) or '{"score": 1, "reason": "x"}'
    openai_server.inject(422, count=1)  # llama-cpp-python's server validates response_format: 422
    openai_server.inject(400, count=1)
    llm = OpenAILLM(model="m", base_url=openai_server.base_url, api_key=SECRET, max_retries=0, max_concurrency=1)
    llm.load()
    try:
        first, second = llm.generate([chat("a"), chat("b")], structured_output=Rating)
    finally:
        llm.unload()
    assert first["generations"][0] and second["generations"][0], "no row lost to the refusal"
    assert all("response_format" not in body for body in seen) and llm.response_format == "none"
    assert openai_server.counters.faults == {"422": 1, "400": 1}


def test_json_object_sends_the_schema_along(openai_server) -> None:
    seen: list[dict] = []
    openai_server.reply_fn = lambda body: seen.append(body) or '{"score": 1, "reason": "x"}'
    llm = OpenAILLM(model="m", base_url=openai_server.base_url, api_key=SECRET, structured_output="json_object")
    llm.load()
    try:
        llm.generate([chat("a")], structured_output=Rating)
    finally:
        llm.unload()
    assert seen[0]["response_format"] == {"type": "json_object", "schema": Rating.model_json_schema()}


def test_an_explicit_json_schema_is_not_dropped_on_a_400(openai_server) -> None:
    openai_server.inject(400, count=1)
    llm = OpenAILLM(model="m", base_url=openai_server.base_url, api_key=SECRET, max_retries=0,
                    structured_output="json_schema")
    llm.load()
    try:
        [out] = llm.generate([chat("a")], structured_output=Rating)
    finally:
        llm.unload()
    assert out["generations"] == [None] and "400" in (out["errors"] or [""])[0]
