"""``InstructionBacktranslation``: rate how well a text serves as the answer to an instruction (the
self-curation step of "Self-Alignment with Instruction Backtranslation").

distilabel's columns and answer format: inputs ``instruction`` and ``generation``; outputs ``score``
(1-5) and ``reason``, read from reasoning followed by a ``Score: N`` line.
"""

from __future__ import annotations

import re
from typing import Any

from synthgen.tasks._templates import load_template
from synthgen.tasks.base import Task

# "Score: 4", "**Score:** 4", "Score: 4/5"; the last such line is the verdict.
_SCORE = re.compile(r"^[ \t*_#-]*Score[ \t*_]*:[ \t*_]*(.*)$", re.IGNORECASE | re.MULTILINE)
_VALUE = re.compile(r"^([1-5])(?:\s*/\s*5)?(?!\d|\.\d|\s*/)")


def parse_score(text: str) -> dict[str, Any]:
    """``score`` (int 1-5) and ``reason`` (the text before the last ``Score:`` line, or ``None``).

    Raises:
        ValueError: there is no ``Score:`` line, or its value is not an integer from 1 to 5.
    """
    matches = list(_SCORE.finditer(text))
    if not matches:
        raise ValueError("the answer has no 'Score: N' line")
    last = matches[-1]
    value = _VALUE.match(last.group(1).strip().strip("*_[]()` "))
    if value is None:
        raise ValueError(f"the score is {last.group(1).strip()[:20]!r}, not an integer from 1 to 5")
    return {"score": int(value.group(1)), "reason": text[: last.start()].strip() or None}


class InstructionBacktranslation(Task):
    """Score each row's ``generation`` as an AI Assistant answer to its ``instruction``, from 1 to 5.

    Inputs: ``instruction``, ``generation``. Outputs: ``score``, ``reason``, ``model_name``.
    """

    @property
    def inputs(self) -> list[str]:
        return ["instruction", "generation"]

    @property
    def outputs(self) -> list[str]:
        return ["score", "reason", "model_name"]

    def format_input(self, row: dict[str, Any]) -> list[dict[str, str]]:
        """The rating chat for ``row``."""
        prompt = load_template("instruction_backtranslation.jinja2").render(
            instruction=row["instruction"], generation=row["generation"])
        return [{"role": "user", "content": prompt}]

    def format_output(self, text: str, row: dict[str, Any]) -> dict[str, Any]:
        """``score`` and ``reason`` from the answer.

        Raises:
            ValueError: the answer has no valid score (recorded as the row's error).
        """
        return parse_score(text)
