"""UltraFeedback: an LLM judge rates several responses to one instruction on a 1-5 rubric.

The prompts are the original UltraFeedback rubrics (one template per aspect). The judge answers one
section per response::

    #### Output for Text 1
    Rating: 4
    Rationale: ...

Answers are parsed by section number and strictly: a rating that is missing, out of 1-5 or not a number
("four") is ``None``, never a guess; a preamble or sections beyond the number of responses never add
ratings; the result always has exactly one entry per response.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import field_validator

from synthgen.errors import ConfigError
from synthgen.tasks._templates import load_template
from synthgen.tasks.json_answers import JsonAnswerTask

ASPECTS: tuple[str, ...] = ("helpfulness", "honesty", "instruction-following", "truthfulness", "overall-rating")

# What the prompt ends with in text mode, so a base model continues straight into the first rating.
PRIMER = "#### Output for Text 1\nRating:"

ULTRAFEEDBACK_SCHEMA: dict[str, Any] = {
    "title": "UltraFeedbackRatings",
    "type": "object",
    "properties": {
        # An enum rather than minimum/maximum: grammars (llama.cpp) and guided decoding enforce it.
        "ratings": {"type": "array", "items": {"type": "integer", "enum": [1, 2, 3, 4, 5]}},
        "rationales": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["ratings", "rationales"],
    "additionalProperties": False,
}
"""The structured-output answer: one rating and one rationale per text, in the order of the texts."""


def ratings_schema(num_generations: int) -> dict[str, Any]:
    """:data:`ULTRAFEEDBACK_SCHEMA` with exactly ``num_generations`` ratings and rationales, so that a
    grammar (llama.cpp) or guided decoding (vLLM) cannot answer too few or too many."""
    exact = {"minItems": num_generations, "maxItems": num_generations}
    properties = {k: {**v, **exact} for k, v in ULTRAFEEDBACK_SCHEMA["properties"].items()}
    return {**ULTRAFEEDBACK_SCHEMA, "properties": properties}

_HEADER = re.compile(r"^[ \t#*]*Output for Text[ \t]*(\d+)\b.*$", re.IGNORECASE | re.MULTILINE)
_RATING_LINE = re.compile(r"^[ \t*_-]*Rating[ \t*_]*:(.*)$", re.IGNORECASE | re.MULTILINE)
_RATIONALE = re.compile(r"^[ \t*_-]*Rationale[ \t*_]*:(.*)", re.IGNORECASE | re.MULTILINE | re.DOTALL)
_RATIONALE_END = re.compile(r"\n[ \t]*(?:---+|#{1,3}[ \t]|[*_-]*Rating[ \t*_]*:)", re.IGNORECASE)
# A JSON answer, possibly in a ```json fence; the fence is dropped before decoding.
_JSON_START = re.compile(r"^\s*(?:```(?:json)?\s*)?\{", re.IGNORECASE)
_JSON_FENCE = re.compile(r"^```(?:json)?\s*|\s*```$", re.IGNORECASE)
_RATINGS_ARRAY = re.compile(r'"ratings"\s*:\s*\[([^\]]*)\]')
# An integer, optionally "/5", not followed by a decimal part, more digits or another scale ("4/10").
_RATING_VALUE = re.compile(r"^(\d+)(?:\s*/\s*5)?(?!\.?\d|\s*/)")


def template_name(aspect: str) -> str:
    """The bundled template file for ``aspect``.

    Raises:
        ConfigError: ``aspect`` is not one of :data:`ASPECTS`.
    """
    if aspect not in ASPECTS:
        raise ConfigError(
            f"UltraFeedback aspect '{aspect}' is unknown. Choose one of: {', '.join(ASPECTS)}"
        )
    return f"ultrafeedback_{aspect.replace('-', '_')}.jinja2"


def render_prompt(
    instruction: str,
    generations: list[str],
    aspect: str = "overall-rating",
    structured: bool = False,
    prime: bool = True,
) -> list[dict[str, str]]:
    """The judge's chat for one row: the UltraFeedback system prompt and the aspect's rubric.

    Args:
        instruction: the instruction the responses answer.
        generations: the responses to rate, in order (``<text 1>`` is the first).
        aspect: one of :data:`ASPECTS`.
        structured: ask for the JSON answer of :data:`ULTRAFEEDBACK_SCHEMA` instead of the sections.
        prime: in text mode, end the user message with :data:`PRIMER` (else with ``### Output``).

    Returns:
        ``[{"role": "system", ...}, {"role": "user", ...}]``.
    """
    values = {"instruction": instruction, "generations": list(generations), "structured": structured,
              "prime": prime and not structured}
    system = load_template("ultrafeedback_system.jinja2").render(**values).strip()
    user = load_template(template_name(aspect)).render(**values)
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def parse_rating(value: Any) -> int | None:
    """A strict 1-5 rating from ``value`` (an int or the text after ``Rating:``), else ``None``.

    ``"4"``, ``"**4**"``, ``"4/5"`` and ``"4 - good"`` give 4; ``"four"``, ``"6"``, ``"4.5"``,
    ``"4/10"``, ``"N/A"``, ``True`` and ``4.0`` give ``None``.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, str):
        match = _RATING_VALUE.match(value.strip().strip("*_[]` \t"))
        if match is None:
            return None
        number = int(match.group(1))
    else:
        return None
    return number if 1 <= number <= 5 else None


def split_sections(text: str) -> dict[int, str]:
    """Section number -> section body; text before the first header is dropped.

    A repeated section number keeps its first occurrence, so a model that starts over cannot overwrite
    an answer it already gave.
    """
    headers = list(_HEADER.finditer(text))
    sections: dict[int, str] = {}
    for i, header in enumerate(headers):
        end = headers[i + 1].start() if i + 1 < len(headers) else len(text)
        sections.setdefault(int(header.group(1)), text[header.end() : end])
    return sections


def parse_section(body: str) -> tuple[int | None, str | None]:
    """``(rating, rationale)`` from one section's body; either is ``None`` when absent."""
    rating_line = _RATING_LINE.search(body)
    rating = parse_rating(rating_line.group(1)) if rating_line else None
    rationale_match = _RATIONALE.search(body)
    # "**Rationale:** text": the closing bold marker is layout.
    rationale = re.sub(r"^(?:\*\*|__)", "", rationale_match.group(1).strip()) if rationale_match else ""
    # A trailing "---", a "## ..." heading or a late "Rating:" line is not part of the rationale.
    rationale = _RATIONALE_END.split(rationale, maxsplit=1)[0].strip()
    return rating, rationale or None


def parse_text_output(text: str, num_generations: int) -> tuple[list[int | None], list[str | None]]:
    """Ratings and rationales, one entry per generation, from the judge's sectioned answer.

    The prompt ends with :data:`PRIMER`; a model that continues it (``" 4\\nRationale: ..."``) rather than
    writing its own first header is read as if the primer were part of its answer.
    """
    if _continues_primer(text):
        text = PRIMER + text
    sections = split_sections(text)
    parsed = [parse_section(sections[i]) if i in sections else (None, None) for i in range(1, num_generations + 1)]
    return [rating for rating, _ in parsed], [rationale for _, rationale in parsed]


def _continues_primer(text: str) -> bool:
    # A continuation starts with the rating value or goes straight on to the rationale; a chat preamble
    # ("Sure! Here is my evaluation") does neither, and is dropped with the rest of the pre-header text.
    lines = [line for line in text.strip().splitlines() if line.strip()][:2]
    if not lines or _HEADER.match(lines[0]):
        return False
    return parse_rating(lines[0]) is not None or (len(lines) > 1 and _RATIONALE.match(lines[1]) is not None)


def parse_structured_output(
    answer: dict[str, Any] | str, num_generations: int
) -> tuple[list[int | None], list[str | None]]:
    """Ratings and rationales from a structured answer (a dict or its JSON text), as strictly as text.

    Entries past ``num_generations`` are ignored; missing or invalid ones are ``None``.
    """
    if isinstance(answer, str):
        text = answer
        try:
            answer = json.loads(_JSON_FENCE.sub("", text.strip()))
        except json.JSONDecodeError:
            answer = _complete_ratings(text)
    if not isinstance(answer, dict):
        answer = {}
    ratings = _as_list(answer.get("ratings"))
    rationales = _as_list(answer.get("rationales"))
    return (
        [parse_rating(ratings[i]) if i < len(ratings) else None for i in range(num_generations)],
        [_as_rationale(rationales[i]) if i < len(rationales) else None for i in range(num_generations)],
    )


def _complete_ratings(text: str) -> dict[str, Any]:
    """From JSON cut off by the token limit, the ``ratings`` array when it was written out whole (it
    comes first in the schema); a rationale cut mid-sentence is dropped, never a rating guessed."""
    match = _RATINGS_ARRAY.search(text)
    if match is None:
        return {}
    try:
        return {"ratings": json.loads(f"[{match.group(1)}]")}
    except json.JSONDecodeError:
        return {}


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _as_rationale(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def parse_output(
    answer: dict[str, Any] | str | None, num_generations: int
) -> tuple[list[int | None], list[str | None]]:
    """Parse any judge answer: ``None`` (the request failed), structured, or sectioned text."""
    if answer is None:
        return [None] * num_generations, [None] * num_generations
    if isinstance(answer, dict) or _JSON_START.match(answer):
        return parse_structured_output(answer, num_generations)
    return parse_text_output(answer, num_generations)


def render_answer(ratings: list[int], rationales: list[str] | None = None) -> str:
    """A well-formed judge answer in the section format (for test servers and fake LLMs).

    :func:`parse_text_output` reads it back to ``ratings`` and ``rationales``.
    """
    rationales = rationales or [f"Rated {rating}." for rating in ratings]
    return "\n\n".join(
        f"#### Output for Text {i}\nRating: {rating}\nRationale: {rationale}"
        for i, (rating, rationale) in enumerate(zip(ratings, rationales, strict=True), start=1)
    )


class UltraFeedback(JsonAnswerTask):
    """Rate each of a row's ``generations`` for its ``instruction`` with the UltraFeedback rubric.

    Args:
        llm: the judge.
        aspect: ``helpfulness``, ``honesty``, ``instruction-following``, ``truthfulness`` or
            ``overall-rating`` (the default).
        use_structured_output: ask the backend for :data:`ULTRAFEEDBACK_SCHEMA` JSON instead of sections;
            ``None`` (the default) asks for it when the backend enforces a schema natively (OpenAI,
            Anthropic, vLLM, llama.cpp grammars), so the answers always parse.

    Inputs: ``instruction``, ``generations`` (a list of responses).
    Outputs: ``ratings`` (int or None per response, same order), ``rationales``, ``model_name``.
    """

    aspect: str = "overall-rating"

    @field_validator("aspect")
    @classmethod
    def _known_aspect(cls, aspect: str) -> str:
        template_name(aspect)  # raises ConfigError listing the aspects
        return aspect

    def answer_schema(self, row: dict[str, Any]) -> dict[str, Any]:
        return ratings_schema(len(row.get("generations") or []))

    @property
    def inputs(self) -> list[str]:
        return ["instruction", "generations"]

    @property
    def outputs(self) -> list[str]:
        return ["ratings", "rationales", "model_name"]

    def format_input(self, row: dict[str, Any]) -> list[dict[str, str]] | str:
        """The judge's prompt for ``row`` (see :func:`render_prompt`).

        A base model (an LLM whose ``chat_format`` is ``"completion"``) gets one plain prompt ending
        in :data:`PRIMER`, so that it continues straight into the first rating; a chat wrapper would put
        a "Response:" turn after the primer. Chat models get the system and user messages.
        """
        generations = [g if g is not None else "" for g in row["generations"] or []]
        completion = getattr(self.llm, "chat_format", None) == "completion"
        chat = render_prompt(row["instruction"], generations, self.aspect, self.structured,
                             prime=completion)
        return "\n\n".join(m["content"] for m in chat) if completion else chat

    def format_output(self, text: dict[str, Any] | str | None, row: dict[str, Any]) -> dict[str, Any]:
        """``ratings`` and ``rationales`` for ``row``, one entry per generation."""
        ratings, rationales = parse_output(text, len(row.get("generations") or []))
        return {"ratings": ratings, "rationales": rationales}
