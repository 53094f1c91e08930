"""The echo backend passes synthgen's LLM contract and echoes the last message."""

from __future__ import annotations

from synthgen_echo_llm import EchoLLM

from synthgen.testing.contracts import LLMContract


class TestEchoLLMContract(LLMContract):
    llm_factory = staticmethod(lambda: EchoLLM(model="echo-1", api_key="sk-echo-not-a-real-key"))
    secret_values = ("sk-echo-not-a-real-key",)


def test_answers_with_the_last_message_and_the_prefix() -> None:
    llm = EchoLLM(prefix="> ")
    chat = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hello there"}]
    (result,) = llm.generate([chat])
    assert result["generations"] == ["> hello there"]
    assert result["statistics"] == {"input_tokens": [2], "output_tokens": [3]}


def test_a_plain_prompt_is_echoed_once_per_generation() -> None:
    (result,) = EchoLLM().generate(["abc"], num_generations=2)
    assert result["generations"] == ["abc", "abc"]
