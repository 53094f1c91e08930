"""The test servers: routes, faults, counters and the reply hook, through the real SDK clients."""

from __future__ import annotations

import asyncio

import anthropic
import openai
import pytest

from synthgen.testing.servers import OpenAITestServer


def client(server) -> openai.OpenAI:  # type: ignore[no-untyped-def]
    return openai.OpenAI(api_key="k", base_url=server.base_url, max_retries=0)


def test_chat_completions_echo_deterministically(openai_server) -> None:
    reply = client(openai_server).chat.completions.create(model="m", messages=[{"role": "user", "content": "a b"}])
    assert reply.choices[0].message.content == "Echo: a b"
    assert (reply.usage.prompt_tokens, reply.usage.completion_tokens) == (2, 3)


def test_completions_and_models(openai_server) -> None:
    c = client(openai_server)
    assert c.completions.create(model="m", prompt="xyz", max_tokens=1).choices[0].text == "Echo:"
    assert [m.id for m in c.models.list()] == ["test-model"]


def test_injected_429_carries_retry_after(openai_server) -> None:
    openai_server.inject(429, retry_after=0.25)
    with pytest.raises(openai.RateLimitError) as info:
        client(openai_server).chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}])
    assert info.value.response.headers["retry-after"] == "0.25"
    assert openai_server.counters.faults["429"] == 1


def test_injected_500_and_timeout(openai_server) -> None:
    openai_server.inject(500)
    with pytest.raises(openai.InternalServerError):
        client(openai_server).chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}])
    openai_server.hang = 1.0
    openai_server.inject(timeout=True)
    with pytest.raises(openai.APITimeoutError):
        openai.OpenAI(api_key="k", base_url=openai_server.base_url, max_retries=0, timeout=0.2).chat.completions.create(
            model="m", messages=[{"role": "user", "content": "x"}])


def test_random_fault_rates_are_seeded() -> None:
    def faults() -> list:
        s = OpenAITestServer(rate_429=0.3, rate_500=0.2, seed=1)
        return [s._next_fault("/v1/chat/completions", {}) for _ in range(50)]

    first = faults()
    assert first == faults() and sum(f is not None for f in first) > 10


def test_counters_track_concurrency_and_duplicates() -> None:
    async def burst(server: OpenAITestServer) -> None:
        c = openai.AsyncOpenAI(api_key="k", base_url=server.base_url, max_retries=0)
        await asyncio.gather(*(c.chat.completions.create(model="m", messages=[{"role": "user", "content": str(i % 4)}])
                               for i in range(8)))
        await c.close()

    with OpenAITestServer(latency=0.2) as server:
        asyncio.run(burst(server))
        assert server.counters.requests == 8 and server.counters.max_in_flight == 8
        assert server.counters.duplicates == 4  # four bodies answered twice


def test_reply_fn_decides_the_answer(openai_server) -> None:
    openai_server.reply_fn = lambda body: body["messages"][-1]["content"].upper()
    reply = client(openai_server).chat.completions.create(model="m", messages=[{"role": "user", "content": "up"}])
    assert reply.choices[0].message.content == "UP"


def test_unknown_route_is_404(openai_server) -> None:
    with pytest.raises(openai.NotFoundError):
        client(openai_server).moderations.create(input="x")


def test_embeddings_answer_the_sdk_with_one_unit_vector_per_text(openai_server) -> None:
    reply = client(openai_server).embeddings.create(model="m", input=["the cat", "The cat!", "a dog"])
    vectors = [item.embedding for item in reply.data]
    assert vectors[0] == vectors[1] != vectors[2] and len(vectors[0]) == 32
    assert abs(sum(v * v for v in vectors[2]) - 1) < 1e-9


def test_anthropic_messages(anthropic_server) -> None:
    c = anthropic.Anthropic(api_key="k", base_url=anthropic_server.url, max_retries=0)
    reply = c.messages.create(model="c", max_tokens=2, messages=[{"role": "user", "content": "one two three"}])
    assert reply.content[0].text == "Echo: one" and reply.stop_reason == "max_tokens"
    anthropic_server.inject(429, retry_after=1)
    with pytest.raises(anthropic.RateLimitError):
        c.messages.create(model="c", max_tokens=5, messages=[{"role": "user", "content": "x"}])
