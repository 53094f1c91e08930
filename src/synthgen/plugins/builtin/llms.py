"""Built-in LLM backends. Their modules import openai, anthropic, vllm or llama_cpp lazily."""

from __future__ import annotations

from synthgen.plugins.hookspecs import hookimpl
from synthgen.plugins.registry import Registrar

LLMS: tuple[tuple[str, str], ...] = (
    ("openai", "synthgen.llms.openai:OpenAILLM"),
    ("anthropic", "synthgen.llms.anthropic:AnthropicLLM"),
    ("vllm", "synthgen.llms.vllm:vLLM"),
    ("llamacpp", "synthgen.llms.llamacpp:LlamaCppLLM"),
    ("fake", "synthgen.llms.fake:FakeLLM"),
)
"""(registered name, ``module:Class``) of every built-in backend."""


@hookimpl
def synthgen_register_llms(register: Registrar) -> None:
    for name, path in LLMS:
        register.add_llm(path, name=name)
