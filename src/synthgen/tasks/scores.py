"""The numbered-score answer shared by the Deita scorers: one ``[i] Score: N`` line per item.

QualityScorer and ComplexityScorer ask a judge to score several items at once. The answer is read by
item number, never by line position: ``[3] Score: 4`` scores item 3 even when item 2's line is missing,
so a skipped item leaves a ``None`` and never shifts the others.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import Field

from synthgen.tasks.json_answers import JsonAnswerTask

# "[2] Score: 5", "**[2] Score:** 5", "- [2] score: 5/6"; the value is read by parse_score.
_SCORE_LINE = re.compile(r"^[ \t*_#>-]*\[(\d+)\][ \t*_]*Score[ \t*_]*:(.*)$", re.IGNORECASE | re.MULTILINE)
# A number, optionally "/max", not followed by more digits or another number ("4 or 5" stays 4).
_VALUE = re.compile(r"^(\d+(?:\.\d+)?)(?:\s*/\s*(\d+))?(?![\d.])")
_JSON_START = re.compile(r"^\s*(?:```(?:json)?\s*)?\{", re.IGNORECASE)
_JSON_FENCE = re.compile(r"^```(?:json)?\s*|\s*```$", re.IGNORECASE)


def parse_score(value: str, max_score: int) -> float | None:
    """A score from 1 to ``max_score`` from the text after ``Score:``, else ``None``.

    ``"4"``, ``"**4**"``, ``"4.5"`` and ``"4/6"`` (with ``max_score`` 6) give a number; ``"four"``,
    ``"0"``, ``"7"`` and ``"4/10"`` give ``None``.
    """
    match = _VALUE.match(value.strip().strip("*_[]`\t "))
    if match is None:
        return None
    if match.group(2) is not None and int(match.group(2)) != max_score:
        return None  # a score on another scale is not a score on ours
    number = float(match.group(1))
    return number if 1 <= number <= max_score else None


def parse_numbered_scores(text: str, count: int, max_score: int) -> list[float | None]:
    """One score per item (``None`` where an item has no valid score line), from item 1 to ``count``.

    A repeated item number keeps its first line; numbers past ``count`` are ignored.

    Raises:
        ValueError: the answer has no ``[i] Score:`` line at all (recorded as the row's error).
    """
    found: dict[int, float | None] = {}
    for match in _SCORE_LINE.finditer(text):
        found.setdefault(int(match.group(1)), parse_score(match.group(2), max_score))
    if not found:
        raise ValueError("the answer has no '[1] Score: N' line")
    return [found.get(i) for i in range(1, count + 1)]


def render_scores(scores: list[float | int]) -> str:
    """A well-formed answer (for test servers and fake LLMs); :func:`parse_numbered_scores` reads it back."""
    return "\n".join(f"[{i}] Score: {score}" for i, score in enumerate(scores, start=1))


def scores_schema(count: int, max_score: int) -> dict[str, Any]:
    """The structured answer: exactly ``count`` integer scores from 1 to ``max_score``, in item order."""
    return {
        "title": "Scores",
        "type": "object",
        "properties": {"scores": {"type": "array", "minItems": count, "maxItems": count,
                                  # An enum rather than minimum/maximum: grammars enforce it.
                                  "items": {"type": "integer", "enum": list(range(1, max_score + 1))}}},
        "required": ["scores"],
        "additionalProperties": False,
    }


def parse_scores_answer(answer: str, count: int, max_score: int) -> list[float | None]:
    """Scores from a JSON answer (``{"scores": [...]}``) or from ``[i] Score:`` lines.

    Raises:
        ValueError: neither form is found (recorded as the row's error).
    """
    if _JSON_START.match(answer):
        try:
            data = json.loads(_JSON_FENCE.sub("", answer.strip()))
        except json.JSONDecodeError as exc:
            raise ValueError(f"the JSON answer does not decode ({exc.msg})") from None
        values = data.get("scores") if isinstance(data, dict) else None
        if not isinstance(values, list):
            raise ValueError("the JSON answer has no 'scores' list")
        return [_json_score(values[i], max_score) if i < len(values) else None for i in range(count)]
    return parse_numbered_scores(answer, count, max_score)


def _json_score(value: Any, max_score: int) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    return parse_score(str(value), max_score)


class ScoringTask(JsonAnswerTask):
    """A judge that scores a row's list of items in one answer (see the module docstring).

    Args:
        max_score: the top of the scale (scores run from 1).
        use_structured_output: ask for ``{"scores": [...]}`` JSON; ``None`` (the default) asks for it
            when the backend enforces a schema itself (llama.cpp grammars, vLLM, OpenAI).

    Outputs: ``scores`` (one float or ``None`` per item, in order), ``model_name``.
    """

    max_score: int = Field(default=6, ge=2)

    @property
    def outputs(self) -> list[str]:
        return ["scores", "model_name"]

    def items(self, row: dict[str, Any]) -> list[Any]:
        """The items of ``row`` that are scored, in order."""
        raise NotImplementedError(f"{type(self).__name__}.items is not implemented")

    def answer_schema(self, row: dict[str, Any]) -> dict[str, Any]:
        return scores_schema(len(self.items(row)), self.max_score)

    def format_output(self, text: str, row: dict[str, Any]) -> dict[str, Any]:
        """``scores`` for ``row``, one per item.

        Raises:
            ValueError: the answer holds no score at all.
        """
        return {"scores": parse_scores_answer(text, len(self.items(row)), self.max_score)}
