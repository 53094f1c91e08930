"""``FakeLLM``: a deterministic LLM that needs no server, for tests and examples."""

from __future__ import annotations

import hashlib
import json
from typing import ClassVar

from pydantic import Field

from synthgen.llms.base import LLM
from synthgen.llms.requests import Request, Result, prompt_text
from synthgen.llms.structured import example_for


class FakeLLM(LLM):
    """Answers ``"<prefix><hash> <last message>"``, the same for the same request every time.

    Args:
        model: the model name it reports.
        prefix: text each answer starts with.
        fail_on: inputs containing one of these substrings fail (``None`` generation, error recorded).

    With a structured-output schema it answers a JSON object that follows the schema.
    """

    type_name: ClassVar[str] = "fake"

    model: str = "fake-model"
    prefix: str = "fake:"
    fail_on: list[str] = Field(default_factory=list)

    @property
    def supports_structured_output(self) -> bool:
        return True

    @property
    def supports_raw_prompt(self) -> bool:
        return True

    @property
    def model_name(self) -> str:
        return self.model

    def _generate_requests(self, requests: list[Request]) -> list[Result]:
        return [self._answer(r) for r in requests]

    def _answer(self, request: Request) -> Result:
        text = prompt_text(request.input)
        if any(marker in text for marker in self.fail_on):
            return Result(None, error=f"FakeLLM: input contains a fail_on marker {self.fail_on}")
        if request.schema is not None:
            reply = json.dumps(example_for(request.schema))
        else:
            digest = hashlib.sha256(f"{request.key}".encode()).hexdigest()[:8]
            last = text.rsplit("\n", 1)[-1]
            reply = f"{self.prefix}{digest} {last}"
        max_new = request.params.get("max_new_tokens")
        if max_new is not None and request.schema is None:
            reply = " ".join(reply.split()[: int(max_new)])
        return Result(reply, input_tokens=len(text.split()), output_tokens=len(reply.split()),
                      raw={"model": self.model, "text": reply})

