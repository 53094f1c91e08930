"""Shared fixtures: OpenAI- and Anthropic-compatible test servers on 127.0.0.1, a free port each.

Tune a server inside a test through its attributes (``latency``, ``rate_429``, ``reply_fn``, ...) or
``inject(...)``; read ``counters`` for requests, peak concurrency and duplicates.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from synthgen.testing.servers import AnthropicTestServer, OpenAITestServer


@pytest.fixture
def openai_server() -> Iterator[OpenAITestServer]:
    """A running OpenAI-compatible server; pass ``openai_server.base_url`` to ``OpenAILLM``."""
    server = OpenAITestServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def anthropic_server() -> Iterator[AnthropicTestServer]:
    """A running Anthropic-compatible server; pass ``anthropic_server.url`` to ``AnthropicLLM``."""
    server = AnthropicTestServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def active_store(tmp_path):  # type: ignore[no-untyped-def]
    """A store made active for this process, as the runner does in a worker (request cache on)."""
    from synthgen.store import Store, set_active_store

    store = Store(tmp_path / "store")
    set_active_store(store)
    try:
        yield store
    finally:
        set_active_store(None)
