"""``ChatGeneration``: the next assistant turn of each row's conversation."""

from __future__ import annotations

from typing import Any

from synthgen.errors import StepError
from synthgen.llms.requests import ChatType
from synthgen.tasks.base import Task


class ChatGeneration(Task):
    """Answer a conversation: input column ``messages`` (a list of ``{"role", "content"}``).

    Output column: ``generation``.
    """

    @property
    def inputs(self) -> list[str]:
        return ["messages"]

    def format_input(self, row: dict[str, Any]) -> ChatType:
        messages = row["messages"]
        if not isinstance(messages, list) or not all(isinstance(m, dict) and "role" in m and "content" in m
                                                     for m in messages):
            raise StepError(str(self.name), "column 'messages' must be a list of {'role', 'content'} dicts, "
                            f"got {str(messages)[:80]!r}")
        return [{"role": str(m["role"]), "content": str(m["content"])} for m in messages]
