"""``ScriptedLLM``: answers each request with the next scripted text, and remembers what it was asked.

Shared by the task tests: a script may hold malformed answers and ``None`` (a failed request), so the
parsers are tested through the task, with the raw answer and the error landing in the metadata.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import PrivateAttr

from synthgen.llms.base import LLM
from synthgen.llms.requests import Request, Result


class ScriptedLLM(LLM):
    """Answers request ``i`` with ``answers[i % len(answers)]`` (``None`` fails it)."""

    type_name: ClassVar[str] = "scripted"
    answers: list[str | None]
    structured: bool = False
    raw_prompts: bool = True
    _requests: list[Request] = PrivateAttr(default_factory=list)

    @property
    def model_name(self) -> str:
        return "scripted"

    @property
    def supports_structured_output(self) -> bool:
        return self.structured

    @property
    def supports_raw_prompt(self) -> bool:
        return self.raw_prompts

    @property
    def requests(self) -> list[Request]:
        return self._requests

    def _generate_requests(self, requests: list[Request]) -> list[Result]:
        start = len(self._requests)
        self._requests.extend(requests)
        return [self._result(self.answers[(start + i) % len(self.answers)]) for i in range(len(requests))]

    @staticmethod
    def _result(text: str | None) -> Result:
        return Result(None, error="boom") if text is None else Result(text, 10, 5)


def run_task(task: Any, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every row ``task`` yields for ``rows`` (one call, as a batch would be processed)."""
    return [row for batch in task.process(rows) for row in batch]
