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
