"""``Genstruct``: a user question and an assistant answer grounded in a document, in the prompt format of
NousResearch's Genstruct 7B.

distilabel's columns: inputs ``title`` and ``content``; outputs ``user`` and ``assistant``, read from a
continuation of ``[[[User]]]`` that contains ``[[[Assistant]]]``. Genstruct is a base model: on backends
that can send a raw prompt the prompt goes as it is; elsewhere it is sent as one user message.
"""

from __future__ import annotations

import re
from typing import Any

from synthgen.llms.requests import LLMInput, RawPrompt
from synthgen.tasks.base import Task

_USER = re.compile(r"\[\[\[User\]\]\]", re.IGNORECASE)
_ASSISTANT = re.compile(r"\[\[\[Assistant\]\]\]", re.IGNORECASE)


def render_prompt(title: str, content: str) -> str:
    """The Genstruct prompt: the document, then an interaction that starts with the user's turn."""
    return (f"[[[Title]]] {title.strip()}\n[[[Content]]] {content.strip()}\n\n"
            "The following is an interaction between a user and an AI assistant that is related to the above text."
            "\n\n[[[User]]] ")


def parse_interaction(text: str) -> dict[str, str]:
    """``user`` (before ``[[[Assistant]]]``) and ``assistant`` (after it, up to a next ``[[[User]]]``).

    Raises:
        ValueError: there is no ``[[[Assistant]]]`` turn, or either side is empty.
    """
    text = _USER.sub("", text.lstrip(), count=1) if _USER.match(text.lstrip()) else text  # an echoed marker
    parts = _ASSISTANT.split(text, maxsplit=1)
    if len(parts) < 2:
        raise ValueError("the answer has no '[[[Assistant]]]' turn")
    user, assistant = parts[0].strip(), _USER.split(parts[1], maxsplit=1)[0].strip()
    if not user or not assistant:
        raise ValueError(f"the {'user' if not user else 'assistant'} turn is empty")
    return {"user": user, "assistant": assistant}


class Genstruct(Task):
    """Write a question about each row's document (``title``, ``content``) and its answer.

    Inputs: ``title``, ``content``. Outputs: ``user``, ``assistant``, ``model_name``.
    """

    @property
    def inputs(self) -> list[str]:
        return ["title", "content"]

    @property
    def outputs(self) -> list[str]:
        return ["user", "assistant", "model_name"]

    def format_input(self, row: dict[str, Any]) -> LLMInput:
        """The Genstruct prompt for ``row``: raw where the backend can send it so, else one user message."""
        prompt = render_prompt(str(row["title"]), str(row["content"]))
        if getattr(self.llm, "supports_raw_prompt", False):
            return RawPrompt(prompt)
        return [{"role": "user", "content": prompt}]

    def format_output(self, text: str, row: dict[str, Any]) -> dict[str, Any]:
        """``user`` and ``assistant`` from the continuation.

        Raises:
            ValueError: the continuation holds no complete interaction (recorded as the row's error).
        """
        return parse_interaction(text)
