"""``PrometheusEval``: a Prometheus-style judge grades one response (absolute) or picks the better of
two (relative) by a score rubric.

distilabel's columns and answer format: inputs ``instruction`` and ``generation`` (absolute) or
``generations`` (relative, exactly two), optional ``reference``; outputs ``feedback`` and ``result``
read from ``Feedback: ... [RESULT] N`` (1-5) or ``... [RESULT] A`` / ``B``. An answer without a valid
result is a row error: ``feedback`` and ``result`` are ``None`` and the raw answer stays in the metadata.
"""

from __future__ import annotations

import json
import re
from typing import Any, Literal

from pydantic import Field, model_validator

from synthgen.errors import ConfigError, StepError
from synthgen.tasks._templates import load_template
from synthgen.tasks.json_answers import JsonAnswerTask
from synthgen.tasks.prometheus_rubrics import DEFAULT_RUBRICS

Mode = Literal["absolute", "relative"]

_RESULT = re.compile(r"\[\s*RESULT\s*\]", re.IGNORECASE)
_FEEDBACK_LABEL = re.compile(r"^[\s#*_]*Feedback[\s*_]*:[\s*_]*", re.IGNORECASE)
# What may wrap the result: "(4)", "**4**", "Score: 4", "Response A", "4/5", a final period.
_ABSOLUTE = re.compile(r"^(?:score\s*:?\s*)?([1-5])(?:\s*/\s*5)?(?!\d|\.\d|\s*/)", re.IGNORECASE)
_RELATIVE = re.compile(r"^(?:response\s+)?([AB])\b", re.IGNORECASE)
_JSON = re.compile(r"^\s*(?:```(?:json)?\s*)?\{", re.IGNORECASE)
_FENCE = re.compile(r"^```(?:json)?\s*|\s*```$", re.IGNORECASE)


def result_schema(mode: Mode) -> dict[str, Any]:
    """The structured answer: ``feedback`` first (the judge reasons before it grades), then ``result``."""
    grades: list[Any] = [1, 2, 3, 4, 5] if mode == "absolute" else ["A", "B"]
    kind = "integer" if mode == "absolute" else "string"
    return {"title": "PrometheusResult", "type": "object",
            "properties": {"feedback": {"type": "string"}, "result": {"type": kind, "enum": grades}},
            "required": ["feedback", "result"], "additionalProperties": False}


def parse_result(text: str, mode: Mode) -> int | str:
    """The grade after ``[RESULT]``: an int from 1 to 5 (absolute) or ``"A"``/``"B"`` (relative).

    Raises:
        ValueError: the text does not start with a valid grade.
    """
    value = text.strip().strip("*_`()[]\"' \t")
    match = (_ABSOLUTE if mode == "absolute" else _RELATIVE).match(value)
    if match is None:
        expected = "an integer from 1 to 5" if mode == "absolute" else "A or B"
        raise ValueError(f"the result after [RESULT] is {value[:20]!r}, not {expected}")
    return int(match.group(1)) if mode == "absolute" else match.group(1).upper()


def parse_output(text: str, mode: Mode) -> dict[str, Any]:
    """``{"feedback": ..., "result": ...}`` from a ``Feedback: ... [RESULT] ...`` answer.

    The first ``[RESULT]`` counts (a model that starts over cannot change its grade); the feedback is the
    text before it without its ``Feedback:`` label, or ``None`` when empty.

    Raises:
        ValueError: there is no ``[RESULT]`` marker or no valid grade after it.
    """
    if _JSON.match(text):
        return _parse_json(text, mode)
    parts = _RESULT.split(text, maxsplit=1)
    if len(parts) < 2:
        raise ValueError("the answer has no '[RESULT]' marker")
    result = parse_result(parts[1], mode)
    feedback = _FEEDBACK_LABEL.sub("", parts[0]).strip()
    return {"feedback": feedback or None, "result": result}


def _parse_json(text: str, mode: Mode) -> dict[str, Any]:
    try:
        value = json.loads(_FENCE.sub("", text.strip()))
    except json.JSONDecodeError as exc:
        raise ValueError(f"the JSON answer does not decode ({exc.msg})") from None
    if not isinstance(value, dict) or "result" not in value:
        raise ValueError("the JSON answer has no 'result'")
    result = value["result"]
    if isinstance(result, bool) or not isinstance(result, (int, str)):
        raise ValueError(f"the result is {result!r}, not a grade")
    feedback = value.get("feedback")
    return {"feedback": feedback.strip() or None if isinstance(feedback, str) else None,
            "result": parse_result(str(result), mode)}


def render_answer(feedback: str, result: int | str) -> str:
    """A well-formed answer (for test servers and fake LLMs); :func:`parse_output` reads it back."""
    return f"Feedback: {feedback} [RESULT] {result}"


def render_prompt(mode: Mode, instruction: str, rubric: str, generation: str | None = None,
                  generations: list[str] | None = None, reference: str | None = None,
                  structured: bool = False) -> list[dict[str, str]]:
    """The judge's chat: the system prompt and the mode's grading prompt (asking for JSON if ``structured``)."""
    user = load_template(f"prometheus_{mode}.jinja2").render(
        instruction=instruction, generation=generation, generations=generations, reference=reference,
        rubric=rubric, structured=structured)
    system = load_template("prometheus_system.jinja2").render().strip()
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


class PrometheusEval(JsonAnswerTask):
    """Grade responses by a rubric, as Prometheus 2 does.

    Args:
        llm: the judge (a Prometheus 2 model, or any instruction-following model).
        mode: ``absolute`` grades each row's ``generation`` from 1 to 5; ``relative`` says which of the
            row's two ``generations`` is better (``A`` or ``B``).
        rubric: the name of the rubric in ``rubrics``.
        rubrics: rubric name -> text; defaults to the standard rubrics (helpfulness, harmlessness,
            honesty, factual-validity, reasoning).
        reference: whether rows have a ``reference`` answer to grade against.
        use_structured_output: ask for ``{"feedback": ..., "result": ...}`` JSON; ``None`` (the default)
            asks for it where the backend enforces a schema itself (llama.cpp grammars, vLLM, OpenAI).

    Inputs: ``instruction``, ``generation`` or ``generations``, and ``reference`` when asked.
    Outputs: ``feedback`` (str), ``result`` (int 1-5, or ``"A"``/``"B"``), ``model_name``.
    """

    mode: Mode
    rubric: str
    rubrics: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_RUBRICS))
    reference: bool = False

    @model_validator(mode="after")
    def _known_rubric(self) -> PrometheusEval:
        if self.rubric not in self.rubrics:
            raise ConfigError(
                f"PrometheusEval rubric '{self.rubric}' is not in `rubrics`. Choose one of: "
                f"{', '.join(self.rubrics) or 'none (rubrics is empty)'}, or add it to `rubrics`"
            )
        return self

    def answer_schema(self, row: dict[str, Any]) -> dict[str, Any]:
        return result_schema(self.mode)

    @property
    def inputs(self) -> list[str]:
        responses = "generation" if self.mode == "absolute" else "generations"
        return ["instruction", responses, *(["reference"] if self.reference else [])]

    @property
    def outputs(self) -> list[str]:
        return ["feedback", "result", "model_name"]

    def format_input(self, row: dict[str, Any]) -> list[dict[str, str]]:
        """The grading chat for ``row``.

        Raises:
            StepError: in relative mode, the row does not have exactly two generations.
        """
        reference = row["reference"] if self.reference else None
        rubric = self.rubrics[self.rubric]
        if self.mode == "absolute":
            return render_prompt("absolute", row["instruction"], rubric, generation=_text(row["generation"]),
                                 reference=reference, structured=self.structured)
        generations = row["generations"] or []
        if len(generations) != 2:
            raise StepError(str(self.name), f"relative mode compares exactly 2 generations, a row has "
                                            f"{len(generations)}: group them in pairs, or use mode='absolute'")
        return render_prompt("relative", row["instruction"], rubric, generations=[_text(g) for g in generations],
                             reference=reference, structured=self.structured)

    def format_output(self, text: str, row: dict[str, Any]) -> dict[str, Any]:
        """``feedback`` and ``result`` from the judge's answer.

        Raises:
            ValueError: the answer has no valid ``[RESULT]`` (recorded as the row's error).
        """
        return parse_output(text, self.mode)


def _text(value: Any) -> str:
    return "" if value is None else str(value)
