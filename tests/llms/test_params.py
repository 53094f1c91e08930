"""generation_kwargs are checked against what each backend accepts; a typo is an error naming the
accepted names, never a parameter sent (or dropped) silently."""

from __future__ import annotations

import pytest

from synthgen.errors import ConfigError
from synthgen.llms import AnthropicLLM, OpenAILLM
from synthgen.llms.params import anthropic_params, openai_params

LOCAL = "http://127.0.0.1:9/v1"


@pytest.mark.parametrize(("make", "kwargs", "expected"), [
    (lambda kw: OpenAILLM(model="m", api_key="k", generation_kwargs=kw), {"temprature": 0.2},
     "openai LLM: unknown generation parameter 'temprature' — did you mean 'temperature'? Accepted: extra_body,"),
    (lambda kw: OpenAILLM(model="m", api_key="k", generation_kwargs=kw), {"top_k": 5},
     "unknown generation parameter 'top_k'"),  # OpenAI's own API has no top_k
    (lambda kw: AnthropicLLM(model="c", api_key="k", generation_kwargs=kw), {"max_new_token": 9},
     "anthropic LLM: unknown generation parameter 'max_new_token' — did you mean 'max_new_tokens'?"),
])
def test_an_unknown_generation_parameter_is_a_one_line_error(make, kwargs: dict, expected: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError) as info:
        make(kwargs)
    assert expected in str(info.value) and "\n" not in str(info.value)


def test_compatible_servers_take_their_own_sampling_parameters_and_extra_body_takes_anything() -> None:
    llm = OpenAILLM(model="m", base_url=LOCAL, generation_kwargs={"top_k": 5, "min_p": 0.1,
                                                                   "extra_body": {"mirostat": 2}})
    assert openai_params(llm.generation_kwargs) == {"extra_body": {"top_k": 5, "min_p": 0.1, "mirostat": 2}}


def test_portable_parameters_are_accepted_by_every_api_backend() -> None:
    portable = {"max_new_tokens": 8, "temperature": 0.1, "top_p": 0.9, "stop": ["x"], "seed": 1}
    OpenAILLM(model="m", api_key="k", generation_kwargs=portable)
    llm = AnthropicLLM(model="c", api_key="k", generation_kwargs=portable)
    assert "seed" not in anthropic_params(llm.generation_kwargs)  # no Anthropic equivalent: dropped


def test_generate_and_runtime_parameters_are_checked_too(openai_server) -> None:  # type: ignore[no-untyped-def]
    llm = OpenAILLM(model="m", base_url=openai_server.base_url)
    with pytest.raises(ConfigError, match="invalid runtime parameter 'generation_kwargs'.*'temprature'"):
        llm.set_runtime_parameters({"generation_kwargs": {"temprature": 0.1}})
    llm.load()
    try:
        with pytest.raises(ConfigError, match="unknown generation parameter 'temprature'"):
            llm.generate(["hi"], temprature=0.1)
    finally:
        llm.unload()
    assert openai_server.counters.requests == 0
