"""AnthropicLLM against the Anthropic-compatible test server, through the real ``anthropic`` client."""

from __future__ import annotations

import json

import pytest

from synthgen.errors import LLMError
from synthgen.llms import AnthropicLLM

SECRET = "sk-ant-test-secret"


@pytest.fixture
def llm(anthropic_server):  # type: ignore[no-untyped-def]
    llm = AnthropicLLM(model="claude-test", base_url=anthropic_server.url, api_key=SECRET, max_retries=2)
    llm.load()
    yield llm
    llm.unload()


def test_generate_sends_the_system_prompt_apart(llm, anthropic_server) -> None:
    seen: list[dict] = []
    anthropic_server.reply_fn = lambda body: seen.append(body) or "hi there"
    [out] = llm.generate([[{"role": "system", "content": "be brief"}, {"role": "user", "content": "hello"}]],
                         max_new_tokens=64, stop=["END"])
    assert out["generations"] == ["hi there"]
    assert seen[0]["system"] == "be brief"
    assert seen[0]["messages"] == [{"role": "user", "content": "hello"}]
    assert seen[0]["max_tokens"] == 64 and seen[0]["stop_sequences"] == ["END"]
    assert out["statistics"] == {"input_tokens": [3], "output_tokens": [2]}


def test_structured_output_uses_a_forced_tool(llm, anthropic_server) -> None:
    schema = {"type": "object", "properties": {"label": {"type": "string"}}, "required": ["label"]}
    seen: list[dict] = []
    anthropic_server.reply_fn = lambda body: seen.append(body) or json.dumps({"label": "positive"})
    [out] = llm.generate(["classify"], structured_output=schema)
    assert seen[0]["tool_choice"]["type"] == "tool"
    assert seen[0]["tools"][0]["input_schema"] == schema
    assert json.loads(out["generations"][0]) == {"label": "positive"}


def test_429_is_retried(llm, anthropic_server) -> None:
    anthropic_server.inject(429, retry_after=0.05)
    assert llm.generate(["x"])[0]["generations"] == ["Echo: x"]
    assert anthropic_server.counters.faults["429"] == 1


def test_missing_key_fails_at_load_naming_the_variable(monkeypatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    with pytest.raises(LLMError, match="set the ANTHROPIC_API_KEY environment variable"):
        AnthropicLLM(model="c").load()


def test_dump_has_no_key(llm) -> None:
    dumped = llm.dump()
    assert dumped["type"] == "anthropic" and "api_key" not in dumped
    assert SECRET not in repr(llm)


def test_sampling_parameters_and_system_go_on_the_wire_and_every_row_is_answered(llm, anthropic_server) -> None:
    seen: list[dict] = []
    anthropic_server.reply_fn = lambda body: seen.append(body) or "ok"
    rows = [[{"role": "system", "content": "from the chat"}, {"role": "user", "content": f"q{i}"}] for i in range(5)]
    out = llm.generate(rows, temperature=0.3, top_p=0.9, top_k=40, stop_sequences=["##"], system="from kwargs",
                       max_new_tokens=32)
    assert [o["generations"] for o in out] == [["ok"]] * 5
    assert len(seen) == 5
    for body in seen:
        assert (body["temperature"], body["top_p"], body["top_k"]) == (0.3, 0.9, 40)
        assert body["stop_sequences"] == ["##"] and body["max_tokens"] == 32
        assert body["system"] == "from kwargs\nfrom the chat"
        assert "max_new_tokens" not in body


def test_requests_carry_the_key_and_the_api_version_not_the_sdk(anthropic_server) -> None:
    headers: list[dict] = []
    original = anthropic_server.invalid_request

    def spy(request, body):  # type: ignore[no-untyped-def]
        headers.append(dict(request.headers))
        return original(request, body)

    anthropic_server.invalid_request = spy  # type: ignore[method-assign]
    llm = AnthropicLLM(model="claude-test", base_url=anthropic_server.url, api_key=SECRET)
    llm.load()
    try:
        assert llm.generate(["hi"], temperature=0.5)[0]["generations"] == ["Echo: hi"]
    finally:
        llm.unload()
    assert headers[0]["x-api-key"] == SECRET and headers[0]["anthropic-version"] == "2023-06-01"
    assert headers[0]["User-Agent"].startswith("synthgen/")


def test_the_test_server_rejects_what_the_real_api_rejects(anthropic_server) -> None:
    import asyncio

    from synthgen.llms.http import JSONClient

    async def post(body: dict, headers: dict) -> str:
        client = JSONClient(anthropic_server.url, headers, 10)
        try:
            await client.post("/v1/messages", body)
        except Exception as exc:  # noqa: BLE001 - the message is what is checked
            return str(exc)
        finally:
            await client.close()
        return "accepted"

    body = {"model": "m", "messages": [{"role": "user", "content": "x"}], "max_tokens": 5}
    version = {"anthropic-version": "2023-06-01"}
    assert asyncio.run(post(body, version)) == "accepted"
    assert "anthropic-version" in asyncio.run(post(body, {}))
    assert "max_new_tokens: Extra inputs are not permitted" in asyncio.run(post({**body, "max_new_tokens": 5}, version))
    assert "max_tokens: Field required" in asyncio.run(post({k: v for k, v in body.items() if k != "max_tokens"}, version))
