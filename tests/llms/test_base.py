"""The LLM base: dump without secrets, runtime parameters, fingerprints, pickling, lazy imports."""

from __future__ import annotations

import importlib.util
import json
import pickle
import subprocess
import sys

import pytest

from synthgen.errors import ConfigError, MissingDependencyError
from synthgen.llms import AnthropicLLM, LlamaCppLLM, OpenAILLM, vLLM
from synthgen.testing import FakeLLM


def test_dump_names_type_and_class_and_drops_the_key() -> None:
    llm = OpenAILLM(model="gpt", api_key="sk-secret", generation_kwargs={"temperature": 0.5})
    dumped = llm.dump()
    assert dumped["type"] == "openai"
    assert dumped["class"] == "synthgen.llms.openai:OpenAILLM"
    assert dumped["generation_kwargs"] == {"temperature": 0.5}
    assert "sk-secret" not in json.dumps(dumped) and "api_key" not in dumped


def test_rebuilt_from_dump_is_equal() -> None:
    llm = OpenAILLM(model="gpt", base_url="http://x/v1", max_concurrency=5)
    params = {k: v for k, v in llm.dump().items() if k not in ("type", "class")}
    assert OpenAILLM(**params).dump() == llm.dump()


def test_runtime_parameters_are_settable_and_unknown_ones_listed() -> None:
    llm = OpenAILLM(model="gpt")
    assert {"generation_kwargs", "max_concurrency", "max_retries"} <= set(llm.runtime_parameter_names())
    llm.set_runtime_parameters({"generation_kwargs": {"temperature": 0.1}, "max_concurrency": 8})
    assert llm.generation_kwargs == {"temperature": 0.1} and llm.max_concurrency == 8
    with pytest.raises(ConfigError, match="unknown runtime parameter 'temprature'.*generation_kwargs"):
        llm.set_runtime_parameters({"temprature": 1})


def test_fingerprint_has_model_and_generation_params_but_no_knobs() -> None:
    a = OpenAILLM(model="gpt", generation_kwargs={"temperature": 0.5}, max_concurrency=4, max_retries=1)
    b = OpenAILLM(model="gpt", generation_kwargs={"temperature": 0.5}, max_concurrency=64, timeout=3)
    c = OpenAILLM(model="gpt", generation_kwargs={"temperature": 0.9})
    assert a.fingerprint_params() == b.fingerprint_params() != c.fingerprint_params()
    assert a.fingerprint_params()["type"] == "openai" and a.fingerprint_params()["model"] == "gpt"


def test_pickle_drops_live_state(openai_server) -> None:
    llm = OpenAILLM(model="m", base_url=openai_server.base_url, api_key="k")
    llm.load()
    try:
        clone = pickle.loads(pickle.dumps(llm))
    finally:
        llm.unload()
    assert clone.engine is None and clone.api_key is not None
    clone.load()
    try:
        assert clone.generate(["x"])[0]["generations"] == ["Echo: x"]
    finally:
        clone.unload()


@pytest.mark.parametrize(("cls", "kwargs", "package", "backend"), [
    (OpenAILLM, {"model": "m"}, "openai", "openai"),
    (AnthropicLLM, {"model": "m"}, "anthropic", "anthropic"),
    (vLLM, {"model": "m"}, "vllm", "vllm"),
    (LlamaCppLLM, {"model_path": "x.gguf"}, "llama-cpp-python", "llamacpp"),
])
def test_missing_backend_package_fails_at_construction(monkeypatch, cls, kwargs, package, backend) -> None:
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None)
    with pytest.raises(MissingDependencyError) as info:
        cls(**kwargs)
    assert str(info.value) == (
        f"Please install `{package}` to use the {backend} backend: pip install 'synthgen[{backend}]'"
    )


def test_importing_llms_and_tasks_imports_no_sdk() -> None:
    code = ("import sys, synthgen, synthgen.llms, synthgen.tasks, synthgen.testing; "
            "from synthgen.llms import OpenAILLM, vLLM, LlamaCppLLM; from synthgen.tasks import TextGeneration; "
            "print([m for m in ('openai', 'anthropic', 'vllm', 'torch', 'llama_cpp', 'aiohttp') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_fake_llm_is_deterministic_and_offline() -> None:
    llm = FakeLLM()
    first = llm.generate([[{"role": "user", "content": "hi"}]], num_generations=2)
    assert first == llm.generate([[{"role": "user", "content": "hi"}]], num_generations=2)
    assert first[0]["generations"][0] != first[0]["generations"][1]  # samples differ
    assert all(g.endswith(" hi") for g in first[0]["generations"])


def test_cached_requests_are_not_generated_again(active_store) -> None:
    calls: list[int] = []

    class Counting(FakeLLM):
        def _generate_requests(self, requests):  # type: ignore[no-untyped-def]
            calls.append(len(requests))
            return super()._generate_requests(requests)

    llm = Counting()
    first = llm.generate(["a", "b"])
    assert llm.generate(["a", "b", "c"])[:2] == first
    assert calls == [2, 1]


def test_first_samples_make_identical_inputs_different_requests() -> None:
    from synthgen.testing.fake_llm import FakeLLM

    llm = FakeLLM()
    same = llm.generate(["x", "x"])
    shifted = llm.generate(["x", "x"], first_samples=[0, 1])
    assert same[0]["generations"] == same[1]["generations"] == shifted[0]["generations"]
    assert shifted[1]["generations"] != shifted[0]["generations"]
    assert llm.generate(["x"], num_generations=2, first_samples=[5])[0]["generations"] == [
        llm.generate(["x"], first_samples=[5])[0]["generations"][0], llm.generate(["x"], first_samples=[6])[0]["generations"][0]]
