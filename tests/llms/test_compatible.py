"""The named presets over the OpenAI-compatible route, against the OpenAI-compatible test server:
InferenceEndpointsLLM, MistralLLM, ClientvLLM and OllamaLLM."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from synthgen import Pipeline
from synthgen.errors import ConfigError, LLMError
from synthgen.llms import ClientvLLM, InferenceEndpointsLLM, MistralLLM, OllamaLLM
from synthgen.llms.base import LLM
from synthgen.plugins import get_registry
from synthgen.steps import LoadDataFromDicts
from synthgen.tasks import TextGeneration
from synthgen.testing.contracts import build_from_dump, pickle_round_trip
from synthgen.testing.servers.openai import OpenAITestServer

KEY = "secret-key-123"


@pytest.fixture
def seen(openai_server: OpenAITestServer) -> list[dict[str, Any]]:
    """Each chat completion's Authorization header and body, as the server received them."""
    seen: list[dict[str, Any]] = []
    route = ("POST", "/v1/chat/completions")
    original = openai_server.routes[route]

    async def spy(request: Any, body: dict[str, Any]) -> Any:
        seen.append({"auth": request.headers.get("Authorization"), "body": body})
        return await original(request, body)

    openai_server.routes[route] = spy
    return seen


@pytest.fixture
def loaded() -> Iterator[Callable[[LLM], LLM]]:
    llms: list[LLM] = []

    def load(llm: LLM) -> LLM:
        llm.load()
        llms.append(llm)
        return llm

    yield load
    for llm in llms:
        llm.unload()


def _presets(server: OpenAITestServer) -> dict[str, tuple[LLM, str]]:
    """Each preset pointed at the test server, and the env var its key comes from."""
    return {
        "inference_endpoints": (InferenceEndpointsLLM(base_url=server.url, model_id="org/model"), "HF_TOKEN"),
        "mistral": (MistralLLM(model="mistral-small-latest", endpoint=server.url), "MISTRAL_API_KEY"),
        "client_vllm": (ClientvLLM(base_url=server.base_url, model="served"), "VLLM_API_KEY"),
        "ollama": (OllamaLLM(model="llama3.2", host=server.url), "OLLAMA_API_KEY"),
    }


@pytest.mark.parametrize("name", ["inference_endpoints", "mistral", "client_vllm", "ollama"])
def test_each_preset_answers_through_the_engine_with_its_keys_env_var(
        name: str, openai_server: OpenAITestServer, seen: list[dict[str, Any]], loaded: Any,
        monkeypatch: pytest.MonkeyPatch) -> None:
    llm, env = _presets(openai_server)[name]
    monkeypatch.setenv(env, KEY)
    [out] = loaded(llm).generate([[{"role": "user", "content": "hello"}]], num_generations=2, max_new_tokens=8)
    assert out["generations"] == ["Echo: hello"] * 2
    assert [s["auth"] for s in seen] == [f"Bearer {KEY}"] * 2
    assert seen[0]["body"]["max_tokens"] == 8
    assert KEY not in repr(llm) and KEY not in str(llm.dump())


@pytest.mark.parametrize("name", ["inference_endpoints", "mistral", "client_vllm", "ollama"])
def test_each_preset_is_registered_picklable_and_rebuilt_from_its_dump(name: str, openai_server: OpenAITestServer) -> None:
    llm, _ = _presets(openai_server)[name]
    assert get_registry().get_llm(name) is type(llm)
    assert pickle_round_trip(llm).dump() == llm.dump()
    assert build_from_dump(llm.dump(), kind="llm").dump() == llm.dump()


def test_answers_are_cached_across_pipelines_that_share_the_step(openai_server: OpenAITestServer, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MISTRAL_API_KEY", KEY)
    for name in ("first", "second"):
        with Pipeline(name=name, cache_dir=tmp_path) as p:
            LoadDataFromDicts(data=[{"instruction": f"q{i}"} for i in range(5)]) \
                >> TextGeneration(name="gen", llm=MistralLLM(model="m", endpoint=openai_server.url))
        rows = p.run()["default"]["train"].to_list()
        assert [r["generation"] for r in rows] == [f"Echo: q{i}" for i in range(5)]
    assert openai_server.counters.answered == 5  # the second pipeline was answered by the request cache


def test_a_missing_key_names_its_env_var(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MISTRAL_API_KEY", raising=False)
    monkeypatch.delenv("HF_TOKEN", raising=False)
    with pytest.raises(LLMError, match="set the MISTRAL_API_KEY environment variable or pass api_key"):
        MistralLLM(model="m").preflight()
    with pytest.raises(LLMError, match="set the HF_TOKEN environment variable"):
        InferenceEndpointsLLM(model_id="org/model").preflight()


def test_ollama_and_vllm_servers_need_no_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OLLAMA_API_KEY", raising=False)
    monkeypatch.delenv("VLLM_API_KEY", raising=False)
    OllamaLLM(model="m", host="http://gpu-box:11434").preflight()
    ClientvLLM(model="m", base_url="http://gpu-box:8000/v1").preflight()


def test_serverless_model_id_goes_to_the_hf_router_with_hf_token(
        openai_server: OpenAITestServer, seen: list[dict[str, Any]], loaded: Any,
        monkeypatch: pytest.MonkeyPatch) -> None:
    assert InferenceEndpointsLLM(model_id="m").resolved_base_url == "https://router.huggingface.co/v1"
    monkeypatch.setattr(InferenceEndpointsLLM, "default_base_url", openai_server.base_url)
    monkeypatch.setenv("HF_TOKEN", KEY)
    llm = loaded(InferenceEndpointsLLM(model_id="meta-llama/Llama-3.1-8B-Instruct", tokenizer_id="same"))
    llm.generate([[{"role": "user", "content": "hi"}]])
    assert seen[0]["body"]["model"] == "meta-llama/Llama-3.1-8B-Instruct"
    assert seen[0]["auth"] == f"Bearer {KEY}"
    assert llm.model_name == "meta-llama/Llama-3.1-8B-Instruct"


def test_a_dedicated_endpoint_is_found_by_name(openai_server: OpenAITestServer, seen: list[dict[str, Any]],
                                               loaded: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import huggingface_hub

    asked: list[tuple[str, str | None]] = []

    def lookup(name: str, namespace: str | None = None, token: str | None = None) -> Any:
        asked.append((name, namespace))
        return SimpleNamespace(url=openai_server.url, status="running")

    monkeypatch.setattr(huggingface_hub, "get_inference_endpoint", lookup)
    monkeypatch.setenv("HF_TOKEN", KEY)
    llm = InferenceEndpointsLLM(endpoint_name="my-endpoint", endpoint_namespace="me", model_display_name="Llama")
    fingerprint = llm.fingerprint_params()
    assert asked == []  # the plan needs no lookup: the endpoint's name is its identity
    loaded(llm).generate([[{"role": "user", "content": "hi"}]])
    assert asked == [("my-endpoint", "me")] and seen[0]["body"]["model"] == "tgi"
    assert llm.model_name == "Llama" and llm.fingerprint_params() == fingerprint


def test_a_stopped_endpoint_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    import huggingface_hub

    monkeypatch.setattr(huggingface_hub, "get_inference_endpoint",
                        lambda name, namespace=None, token=None: SimpleNamespace(url=None, status="paused"))
    monkeypatch.setenv("HF_TOKEN", KEY)
    with pytest.raises(LLMError, match="Inference Endpoint 'ep' has no URL \\(status: paused\\): resume it"):
        InferenceEndpointsLLM(endpoint_name="ep").load()


@pytest.mark.parametrize(("kwargs", "message"), [
    ({}, "needs model_id=... \\(serverless\\), endpoint_name=... \\(a dedicated endpoint\\) or base_url=..."),
    ({"endpoint_name": "ep", "model_id": "m"}, "drop model_id and base_url"),
    ({"endpoint_name": "ep", "base_url": "http://x"}, "drop model_id and base_url"),
])
def test_inference_endpoints_needs_exactly_one_server(kwargs: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        InferenceEndpointsLLM(**kwargs)


def test_a_tgi_base_url_gets_v1_and_names_the_model_by_url() -> None:
    llm = InferenceEndpointsLLM(base_url="http://127.0.0.1:8080/")
    assert llm.resolved_base_url == "http://127.0.0.1:8080/v1" and llm.model == "tgi"
    assert llm.model_name == "http://127.0.0.1:8080/v1"


def test_client_vllm_asks_the_server_for_its_model(openai_server: OpenAITestServer, seen: list[dict[str, Any]],
                                                   loaded: Any) -> None:
    llm = ClientvLLM(base_url=openai_server.base_url, tokenizer="meta-llama/Llama-3.1-8B-Instruct")
    assert llm.fingerprint_params()["model"] == "test-model"
    loaded(llm).generate([[{"role": "user", "content": "hi"}]])
    assert seen[0]["body"]["model"] == "test-model" and llm.dump()["model"] == "test-model"


def test_client_vllm_without_a_server_says_what_to_do() -> None:
    with pytest.raises(LLMError, match="cannot ask http://127.0.0.1:9/v1/models .* start the server, or pass model="):
        ClientvLLM(base_url="http://127.0.0.1:9/v1").fingerprint_params()


def test_ollama_host_comes_from_ollama_host(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OLLAMA_HOST", "0.0.0.0:11434")
    assert OllamaLLM(model="m").resolved_base_url == "http://0.0.0.0:11434/v1"
    monkeypatch.delenv("OLLAMA_HOST")
    assert OllamaLLM(model="m").resolved_base_url == "http://localhost:11434/v1"


def test_presets_never_follow_openai_base_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://elsewhere/v1")
    assert MistralLLM(model="m").resolved_base_url == "https://api.mistral.ai/v1"
