"""``TextClassification``: an LLM gives each text one label, or ``n`` labels, free or from a given set.

distilabel's columns and answer format: input ``text``, output ``labels`` (a str when ``n`` is 1, a
list of str otherwise), answered as JSON ``{"labels": ...}``. Where the backend enforces a schema
(llama.cpp grammars, vLLM, OpenAI), the allowed labels are an enum in it, so the answer always parses.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import BaseModel, Field

from synthgen.tasks._templates import load_template
from synthgen.tasks.base import Task

DEFAULT_SYSTEM_PROMPT = ("You are an AI system that labels pieces of text. Read the text and answer only with "
                         "the classification labels, in the requested JSON format.")
DEFAULT_CONTEXT = "Generate concise, relevant labels that represent the text's main themes, topics or categories."

_FENCE = re.compile(r"^```(?:json)?\s*|\s*```$", re.IGNORECASE)


def labels_schema(n: int, labels: list[str] | None) -> dict[str, Any]:
    """The answer's schema: ``{"labels": str}`` for one label, a list of 1 to ``n`` otherwise; ``labels``
    (when given) is the enum of allowed values."""
    item: dict[str, Any] = {"type": "string", **({"enum": labels} if labels else {})}
    value = item if n == 1 else {"type": "array", "items": item, "minItems": 1, "maxItems": n}
    return {"title": "Labels", "type": "object", "properties": {"labels": value}, "required": ["labels"],
            "additionalProperties": False}


def parse_labels(text: str, n: int, allowed: list[str] | None) -> str | list[str]:
    """``labels`` from a JSON answer: a str (``n`` = 1) or a list of at most ``n`` str.

    Raises:
        ValueError: the answer is not that JSON, or names a label outside ``allowed``.
    """
    try:
        value = json.loads(_FENCE.sub("", text.strip()))
    except json.JSONDecodeError as exc:
        raise ValueError(f'the answer is not JSON {{"labels": ...}} ({exc.msg})') from None
    labels = value.get("labels") if isinstance(value, dict) else None
    if n == 1 and isinstance(labels, list) and len(labels) == 1:
        labels = labels[0]  # ["x"] for one label is the same answer
    expected_type = str if n == 1 else list
    if not isinstance(labels, expected_type) or (n > 1 and not all(isinstance(x, str) for x in labels)):
        raise ValueError(f"'labels' must be {'a string' if n == 1 else 'a list of strings'}, got {labels!r}"[:200])
    chosen = [labels] if isinstance(labels, str) else labels[:n]
    unknown = [x for x in chosen if allowed and x not in allowed]
    if unknown:
        raise ValueError(f"label {unknown[0]!r} is not one of the available labels")
    return labels if isinstance(labels, str) else list(chosen)


class TextClassification(Task):
    """Label each row's ``text``.

    Args:
        llm: the classifier.
        n: labels per text; 1 gives a str, more give a list of up to ``n``.
        available_labels: the allowed labels, or label -> description; ``None`` lets the model name them.
        default_label: the answer for a text that cannot be classified (allowed with ``available_labels``).
        context: what the labels are about (shown in the prompt).
        examples: example texts or labelled examples, shown as a list.
        query_title: how the prompt calls the text ("User Query").
        system_prompt: the system message.
        use_structured_output: ask for the JSON schema; ``None`` (the default) asks for it where the backend
            enforces a schema itself.

    Inputs: ``text``. Outputs: ``labels``, ``model_name``.
    """

    n: int = Field(default=1, ge=1)
    available_labels: list[str] | dict[str, str] | None = None
    default_label: str = "Unclassified"
    context: str | None = DEFAULT_CONTEXT
    examples: list[str] | None = None
    query_title: str = "User Query"
    system_prompt: str | None = DEFAULT_SYSTEM_PROMPT
    use_structured_output: bool | None = None

    @property
    def inputs(self) -> list[str]:
        return ["text"]

    @property
    def outputs(self) -> list[str]:
        return ["labels", "model_name"]

    @property
    def allowed_labels(self) -> list[str] | None:
        """The labels an answer may hold (the available ones and the default), or ``None`` for any."""
        if not self.available_labels:
            return None
        return list(dict.fromkeys([*self.available_labels, self.default_label]))

    def structured_output_for(self, row: dict[str, Any]) -> dict[str, Any] | type[BaseModel] | None:
        structured = self.use_structured_output
        if structured is None:
            structured = bool(getattr(self.llm, "supports_structured_output", False))
        if self.structured_output is not None or not structured:
            return self.structured_output
        return labels_schema(self.n, self.allowed_labels)

    def format_input(self, row: dict[str, Any]) -> list[dict[str, str]]:
        """The classification chat for ``row``."""
        descriptions = self.available_labels if isinstance(self.available_labels, dict) else None
        user = load_template("text_classification.jinja2").render(
            n=self.n, labels=list(self.available_labels or []), descriptions=descriptions,
            default_label=self.default_label, context=self.context, examples=self.examples,
            query_title=self.query_title, text=row["text"])
        system = [{"role": "system", "content": self.system_prompt}] if self.system_prompt else []
        return [*system, {"role": "user", "content": user}]

    def format_output(self, text: str, row: dict[str, Any]) -> dict[str, Any]:
        """``labels`` from the answer.

        Raises:
            ValueError: the answer is not the JSON asked for, or names an unknown label.
        """
        return {"labels": parse_labels(text, self.n, self.allowed_labels)}
