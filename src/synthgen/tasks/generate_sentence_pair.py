"""``GenerateSentencePair``: a positive (and a negative) sentence for each anchor, to train or tune
embedding models.

distilabel's columns and answer format: input ``anchor``, outputs ``positive`` (and ``negative`` with
``triplet``), read from ``## Positive`` / ``## Negative`` sections, or from JSON where the backend
enforces a schema.
"""

from __future__ import annotations

import json
import re
from typing import Any, Literal

from synthgen.tasks._templates import load_template
from synthgen.tasks.json_answers import JsonAnswerTask

Action = Literal["paraphrase", "semantically-similar", "query", "answer"]

_SECTION = re.compile(r"^[ \t]*#{1,4}[ \t]*(Positive|Negative)[ \t]*:?[ \t]*$", re.IGNORECASE | re.MULTILINE)
_FENCE = re.compile(r"^```(?:json)?\s*|\s*```$", re.IGNORECASE)


def pair_schema(triplet: bool) -> dict[str, Any]:
    """The structured answer: ``positive``, and ``negative`` for a triplet."""
    names = ["positive", "negative"] if triplet else ["positive"]
    return {"title": "SentencePair", "type": "object", "properties": {n: {"type": "string"} for n in names},
            "required": names, "additionalProperties": False}


def parse_pair(text: str, triplet: bool) -> dict[str, str | None]:
    """``positive`` (and ``negative``) from a sectioned or a JSON answer; a section's first occurrence counts.

    Raises:
        ValueError: a sentence that was asked for is missing or empty.
    """
    stripped = _FENCE.sub("", text.strip())
    found = _from_json(stripped) if stripped.startswith("{") else _from_sections(text)
    wanted = ["positive", "negative"] if triplet else ["positive"]
    missing = [name for name in wanted if not found.get(name)]
    if missing:
        raise ValueError(f"the answer has no {missing[0]} sentence")
    return {name: found[name] for name in wanted}


def _from_sections(text: str) -> dict[str, str]:
    headers = list(_SECTION.finditer(text))
    found: dict[str, str] = {}
    for i, header in enumerate(headers):
        end = headers[i + 1].start() if i + 1 < len(headers) else len(text)
        found.setdefault(header.group(1).lower(), text[header.end():end].strip())
    return found


def _from_json(text: str) -> dict[str, str]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"the JSON answer does not decode ({exc.msg})") from None
    if not isinstance(value, dict):
        return {}
    return {k: v.strip() for k, v in value.items() if k in ("positive", "negative") and isinstance(v, str)}


class GenerateSentencePair(JsonAnswerTask):
    """Write a positive sentence (and a negative one) for each row's ``anchor``.

    Args:
        llm: the writer.
        action: what the positive is to the anchor: a ``paraphrase``, ``semantically-similar``, a
            ``query`` the anchor answers, or an ``answer`` to the anchor.
        triplet: also write a ``negative``.
        hard_negative: make the negative close to the anchor in words or topic.
        context: background shown to the model (the domain of the anchors).
        use_structured_output: ask for JSON; ``None`` (the default) asks for it where the backend enforces
            a schema itself.

    Inputs: ``anchor``. Outputs: ``positive``, ``negative`` (with ``triplet``), ``model_name``.
    """

    action: Action
    triplet: bool = False
    hard_negative: bool = False
    context: str = ""

    @property
    def inputs(self) -> list[str]:
        return ["anchor"]

    @property
    def outputs(self) -> list[str]:
        return ["positive", *(["negative"] if self.triplet else []), "model_name"]

    def answer_schema(self, row: dict[str, Any]) -> dict[str, Any]:
        return pair_schema(self.triplet)

    def format_input(self, row: dict[str, Any]) -> list[dict[str, str]]:
        """The writing chat for ``row``."""
        prompt = load_template("generate_sentence_pair.jinja2").render(
            action=self.action, triplet=self.triplet, hard_negative=self.hard_negative, context=self.context,
            structured=self.structured, anchor=row["anchor"])
        return [{"role": "user", "content": prompt}]

    def format_output(self, text: str, row: dict[str, Any]) -> dict[str, Any]:
        """``positive`` (and ``negative``) from the answer.

        Raises:
            ValueError: a sentence that was asked for is missing (recorded as the row's error).
        """
        return parse_pair(text, self.triplet)
