"""Built-in LLM backends. ``synthgen.llms`` exports them lazily and they import their SDKs lazily."""

from __future__ import annotations

from synthgen.plugins.hookspecs import hookimpl
from synthgen.plugins.registry import Registrar

LLMS: tuple[tuple[str, str], ...] = (
    ("openai", "synthgen.llms:OpenAILLM"),
    ("anthropic", "synthgen.llms:AnthropicLLM"),
    ("vllm", "synthgen.llms:vLLM"),
    ("llamacpp", "synthgen.llms:LlamaCppLLM"),
    ("fake", "synthgen.testing.fake_llm:FakeLLM"),
    ("openai_embeddings", "synthgen.llms.openai_embeddings:OpenAIEmbeddings"),
    ("llamacpp_embeddings", "synthgen.llms.llamacpp_embeddings:LlamaCppEmbeddings"),
    ("fake_embeddings", "synthgen.testing.fake_embeddings:FakeEmbeddings"),
    ("inference_endpoints", "synthgen.llms:InferenceEndpointsLLM"),
    ("mistral", "synthgen.llms:MistralLLM"),
    ("client_vllm", "synthgen.llms:ClientvLLM"),
    ("ollama", "synthgen.llms:OllamaLLM"),
)
"""(registered name, ``module:Class``) of every built-in backend."""


@hookimpl
def synthgen_register_llms(register: Registrar) -> None:
    for name, path in LLMS:
        register.add_llm(path, name=name)
