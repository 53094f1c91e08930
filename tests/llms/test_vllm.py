"""vLLM backend against a stand-in ``vllm`` module that follows vLLM's documented offline API.

The stand-in implements ``vllm.LLM(model=..., dtype=..., tensor_parallel_size=...)`` with
``get_tokenizer().apply_chat_template(...)`` and ``generate(prompts, sampling_params)`` returning
``RequestOutput``-like objects (``prompt_token_ids``, ``outputs[0].text`` / ``.token_ids``), plus
``vllm.SamplingParams`` and ``vllm.sampling_params.GuidedDecodingParams``. The real engine runs in the
``gpu``-marked test where vllm and a GPU exist.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import types
from dataclasses import dataclass, field
from typing import Any

import pytest

from synthgen.llms import vLLM


@dataclass
class SamplingParams:
    n: int = 1
    temperature: float = 1.0
    top_p: float = 1.0
    max_tokens: int = 16
    stop: list[str] | None = None
    seed: int | None = None
    guided_decoding: Any = None


@dataclass
class GuidedDecodingParams:
    json: dict[str, Any] | None = None


@dataclass
class Completion:
    text: str
    token_ids: list[int]


@dataclass
class RequestOutput:
    prompt: str
    prompt_token_ids: list[int]
    outputs: list[Completion] = field(default_factory=list)


class Tokenizer:
    def apply_chat_template(self, messages, tokenize=False, add_generation_prompt=True, chat_template=None):  # type: ignore[no-untyped-def]
        turns = "".join(f"<{m['role']}>{m['content']}" for m in messages)
        return f"{chat_template or ''}{turns}<assistant>"


class FakeEngine:
    instances: list[FakeEngine] = []

    def __init__(self, model: str, dtype: str = "auto", tensor_parallel_size: int = 1, **kwargs: Any) -> None:
        self.model, self.dtype, self.tp, self.kwargs = model, dtype, tensor_parallel_size, kwargs
        self.calls: list[tuple[list[str], list[SamplingParams]]] = []
        FakeEngine.instances.append(self)

    def get_tokenizer(self) -> Tokenizer:
        return Tokenizer()

    def generate(self, prompts, sampling_params, use_tqdm=True):  # type: ignore[no-untyped-def]
        self.calls.append((prompts, sampling_params))
        outs = []
        for prompt, params in zip(prompts, sampling_params, strict=True):
            guided = params.guided_decoding
            text = json.dumps({"ok": True}) if guided else f"out[{prompt}]"
            words = text.split()[: params.max_tokens]
            outs.append(RequestOutput(prompt, list(range(len(prompt.split()))),
                                      [Completion(" ".join(words), list(range(len(words))))]))
        return outs


@pytest.fixture
def fake_vllm(monkeypatch):  # type: ignore[no-untyped-def]
    module = types.ModuleType("vllm")
    sub = types.ModuleType("vllm.sampling_params")
    module.LLM = FakeEngine  # type: ignore[attr-defined]
    module.SamplingParams = SamplingParams  # type: ignore[attr-defined]
    sub.GuidedDecodingParams = GuidedDecodingParams  # type: ignore[attr-defined]
    module.sampling_params = sub  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "vllm", module)
    monkeypatch.setitem(sys.modules, "vllm.sampling_params", sub)
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: object() if name == "vllm" else real(name, *a))
    FakeEngine.instances.clear()
    return module


def test_load_builds_the_engine_with_the_step_settings(fake_vllm) -> None:
    llm = vLLM(model="org/model", dtype="bfloat16", tensor_parallel_size=2,
               extra_kwargs={"gpu_memory_utilization": 0.8})
    llm.load()
    engine = FakeEngine.instances[0]
    assert (engine.model, engine.dtype, engine.tp, engine.kwargs) == ("org/model", "bfloat16", 2,
                                                                      {"gpu_memory_utilization": 0.8})
    llm.unload()


def test_in_a_ray_placement_group_tensor_parallelism_uses_rays_executor(fake_vllm, monkeypatch) -> None:
    """On the Ray runner a gpus=k, tensor_parallel_size=k step runs in a placement group of k GPU
    bundles: vLLM must start its shards as Ray workers there (its default would be local processes)."""
    import synthgen.llms.vllm as vllm_module

    assert "distributed_executor_backend" not in vLLM(model="m", tensor_parallel_size=2).engine_kwargs()
    monkeypatch.setattr(vllm_module, "_in_placement_group", lambda: True)
    assert vLLM(model="m", tensor_parallel_size=2).engine_kwargs()["distributed_executor_backend"] == "ray"
    assert "distributed_executor_backend" not in vLLM(model="m").engine_kwargs()  # one GPU: nothing to shard
    mine = vLLM(model="m", tensor_parallel_size=2, extra_kwargs={"distributed_executor_backend": "mp"})
    assert mine.engine_kwargs()["distributed_executor_backend"] == "mp"  # the user's choice wins


def test_chats_use_the_chat_template_and_params_map(fake_vllm) -> None:
    llm = vLLM(model="m", chat_template="T:")
    llm.load()
    [out] = llm.generate([[{"role": "user", "content": "hi"}]], num_generations=2,
                         max_new_tokens=3, temperature=0.2, seed=7)
    prompts, params = FakeEngine.instances[0].calls[0]
    assert prompts == ["T:<user>hi<assistant>"] * 2
    assert [p.max_tokens for p in params] == [3, 3] and [p.temperature for p in params] == [0.2, 0.2]
    assert [p.seed for p in params] == [7, 8]  # one seed per sample
    assert out["generations"] == ["out[T:<user>hi<assistant>]"] * 2
    assert out["statistics"] == {"input_tokens": [1, 1], "output_tokens": [1, 1]}
    llm.unload()


def test_structured_output_uses_guided_decoding(fake_vllm) -> None:
    llm = vLLM(model="m")
    llm.load()
    schema = {"type": "object", "properties": {"ok": {"type": "boolean"}}}
    [out] = llm.generate(["q"], structured_output=schema)
    _, params = FakeEngine.instances[0].calls[0]
    assert params[0].guided_decoding == GuidedDecodingParams(json=schema)
    assert json.loads(out["generations"][0]) == {"ok": True}
    llm.unload()


def test_unload_drops_the_engine(fake_vllm) -> None:
    llm = vLLM(model="m")
    llm.load()
    llm.unload()
    assert llm._engine is None


@pytest.mark.gpu
@pytest.mark.vllm
def test_real_vllm_generates_on_a_gpu() -> None:
    pytest.importorskip("vllm", reason="vllm is not installed; install synthgen[vllm] on a GPU machine")
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA GPU: this test runs the real vLLM engine")
    llm = vLLM(model="facebook/opt-125m", extra_kwargs={"gpu_memory_utilization": 0.3})
    llm.load()
    try:
        [out] = llm.generate(["The capital of France is"], max_new_tokens=8, temperature=0.0)
    finally:
        llm.unload()
    assert isinstance(out["generations"][0], str) and out["statistics"]["output_tokens"][0] > 0
