"""``EchoLLM``: answers every request with the last message of its input. Offline and deterministic."""

from __future__ import annotations

from typing import ClassVar

from pydantic import SecretStr

from synthgen.llms.base import LLM, LLMInput
from synthgen.llms.requests import Request, Result


class EchoLLM(LLM):
    """An LLM backend that echoes the prompt, for tests and examples.

    Args:
        model: the model name recorded in each row's ``model_name``.
        prefix: text put before every answer.
        api_key: accepted and never used, as a real API backend's key would be; it shows that a
            ``SecretStr`` field stays out of ``dump()`` and ``repr()``.
    """

    type_name: ClassVar[str] = "echo"

    model: str = "echo"
    prefix: str = ""
    api_key: SecretStr | None = None

    @property
    def model_name(self) -> str:
        return self.model

    def _generate_requests(self, requests: list[Request]) -> list[Result]:
        return [self._answer(request) for request in requests]

    def _answer(self, request: Request) -> Result:
        prompt = _last_message(request.input)
        text = self.prefix + prompt
        # Whitespace words stand in for tokens: enough for statistics and budgets in tests.
        return Result(text=text, input_tokens=len(prompt.split()), output_tokens=len(text.split()))


def _last_message(input: LLMInput) -> str:
    if isinstance(input, str):
        return input
    return str(input[-1].get("content", "")) if input else ""
