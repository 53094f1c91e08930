"""Example synthgen plugin: the ``echo`` LLM backend and its ``llm=echo`` config."""

from synthgen_echo_llm.llm import EchoLLM

__all__ = ["EchoLLM"]
