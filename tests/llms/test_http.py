"""The lean HTTP path of the API backends: raw responses, the SDKs' environment variables, proxies,
errors named as the SDKs name them, and ``agenerate``."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp import web

from synthgen.llms import AnthropicLLM, OpenAILLM
from synthgen.llms.http import proxy_for

SECRET = "sk-test-secret-123"


def chat(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


def loaded(llm):  # type: ignore[no-untyped-def]
    llm.load()
    return llm


def test_raw_responses_are_the_whole_answers_when_asked_for(openai_server) -> None:
    llm = loaded(OpenAILLM(model="m", base_url=openai_server.base_url, api_key=SECRET))
    try:
        [plain] = llm.generate([chat("hi")])
        [out] = llm.generate([chat("hi")], num_generations=2, raw_responses=True)
    finally:
        llm.unload()
    assert "raw_responses" not in plain
    assert [r["choices"][0]["message"]["content"] for r in out["raw_responses"]] == ["Echo: hi"] * 2
    assert out["raw_responses"][0]["usage"]["completion_tokens"] == 2


def test_raw_responses_come_from_the_request_cache_too(openai_server, active_store) -> None:
    first = loaded(OpenAILLM(model="m", base_url=openai_server.base_url, api_key=SECRET))
    try:
        [sent] = first.generate([chat("hi")], raw_responses=True)
    finally:
        first.unload()
    again = loaded(OpenAILLM(model="m", base_url=openai_server.base_url, api_key=SECRET))
    try:
        [cached] = again.generate([chat("hi")], raw_responses=True)
    finally:
        again.unload()
    assert openai_server.counters.requests == 1  # asking for raw responses again never pays again
    assert cached["raw_responses"] == sent["raw_responses"]


def test_anthropic_raw_responses_are_the_messages(anthropic_server) -> None:
    llm = loaded(AnthropicLLM(model="claude", base_url=anthropic_server.url, api_key=SECRET))
    try:
        [out] = llm.generate([chat("hi")], raw_responses=True)
    finally:
        llm.unload()
    assert out["generations"] == ["Echo: hi"]
    assert out["raw_responses"][0]["content"][0] == {"type": "text", "text": "Echo: hi"}


def test_agenerate_answers_from_any_event_loop_and_caches(openai_server, active_store) -> None:
    llm = loaded(OpenAILLM(model="m", base_url=openai_server.base_url, api_key=SECRET))

    async def both() -> list:
        return list(await asyncio.gather(llm.agenerate(chat("a"), num_generations=2),
                                         llm.agenerate("b", raw_responses=True)))

    try:
        a, b = asyncio.run(both())
        again = asyncio.run(llm.agenerate(chat("a"), num_generations=2))
    finally:
        llm.unload()
    assert a == {"generations": ["Echo: a"] * 2, "statistics": {"input_tokens": [1, 1], "output_tokens": [2, 2]}}
    assert b["generations"] == ["Echo: b"] and b["raw_responses"][0]["object"] == "chat.completion"
    assert again == a and openai_server.counters.requests == 3  # the repeat came from the store


def test_openai_base_url_is_read_from_the_environment_as_the_sdk_reads_it(monkeypatch, openai_server) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", openai_server.base_url)
    llm = loaded(OpenAILLM(model="m", api_key=SECRET))
    try:
        assert llm.generate(["x"])[0]["generations"] == ["Echo: x"]
    finally:
        llm.unload()
    assert llm.cache_identity()["host"] == "127.0.0.1"  # its answers are keyed by the server that gave them


def test_organization_and_project_headers_are_sent(monkeypatch, openai_server) -> None:
    seen: list[dict[str, str]] = []

    async def record(request: web.Request, body: dict) -> web.Response:
        seen.append(dict(request.headers))
        return web.json_response(openai_server.chat_completion(body))

    openai_server.routes[("POST", "/v1/chat/completions")] = record
    monkeypatch.setenv("OPENAI_ORG_ID", "org-1")
    monkeypatch.setenv("OPENAI_PROJECT_ID", "proj-1")
    llm = loaded(OpenAILLM(model="m", base_url=openai_server.base_url, api_key=SECRET))
    try:
        llm.generate(["x"])
    finally:
        llm.unload()
    assert seen[0]["Authorization"] == f"Bearer {SECRET}"
    assert seen[0]["OpenAI-Organization"] == "org-1" and seen[0]["OpenAI-Project"] == "proj-1"


def test_an_answer_that_is_not_json_is_a_row_error_naming_it(openai_server) -> None:
    async def html(request: web.Request, body: dict) -> web.Response:
        return web.Response(text="<html>gateway</html>", content_type="text/html")

    openai_server.routes[("POST", "/v1/chat/completions")] = html
    llm = loaded(OpenAILLM(model="m", base_url=openai_server.base_url, api_key=SECRET, max_retries=1))
    try:
        [out] = llm.generate(["x"])
    finally:
        llm.unload()
    assert out["generations"] == [None]
    assert "the answer is not JSON" in out["errors"][0] and "<html>gateway" in out["errors"][0]


def test_a_wrong_key_is_an_authentication_error_not_retried(openai_server) -> None:
    openai_server.inject(401, count=5)
    llm = loaded(OpenAILLM(model="m", base_url=openai_server.base_url, api_key=SECRET, max_retries=3))
    try:
        [out] = llm.generate(["x"])
    finally:
        llm.unload()
    assert out["errors"][0].startswith("HTTP 401 AuthenticationError")
    assert openai_server.counters.requests == 1


@pytest.mark.parametrize(("env", "url", "expected"), [
    ({"HTTPS_PROXY": "http://proxy:3128"}, "https://api.openai.com/v1", "http://proxy:3128"),
    ({"HTTPS_PROXY": "http://proxy:3128", "NO_PROXY": "api.openai.com"}, "https://api.openai.com/v1", None),
    ({"HTTP_PROXY": "http://proxy:3128"}, "https://api.openai.com/v1", None),
    ({}, "http://127.0.0.1:8000/v1", None),
])
def test_the_proxy_is_chosen_as_the_sdks_choose_it(monkeypatch, env, url, expected) -> None:
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert proxy_for(url) == expected


def test_pipeline_yaml_records_the_base_url_the_environment_supplied(monkeypatch) -> None:
    from synthgen import Pipeline
    from synthgen.config.build import build_pipeline
    from synthgen.steps import LoadDataFromDicts
    from synthgen.tasks import TextGeneration

    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    with Pipeline(name="env-url") as pipeline:
        LoadDataFromDicts(data=[{"instruction": "x"}]) >> TextGeneration(name="gen", llm=OpenAILLM(model="m"))
    dumped = pipeline.dump()
    assert dumped["pipeline"]["steps"]["gen"]["llm"]["base_url"] == "http://127.0.0.1:9/v1"
    monkeypatch.delenv("OPENAI_BASE_URL")  # a rerun of pipeline.yaml on another shell calls the same server
    rebuilt = build_pipeline(dumped["pipeline"])
    assert rebuilt.steps["gen"].llm.resolved_base_url == "http://127.0.0.1:9/v1"  # type: ignore[attr-defined]
    assert rebuilt.signature == dumped["signature"]
    assert rebuilt.aggregated_steps_signature == dumped["aggregated_steps_signature"]
    assert AnthropicLLM(model="c").dump()["base_url"] == "https://api.anthropic.com"
