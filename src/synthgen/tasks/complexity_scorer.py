"""``ComplexityScorer``: a judge scores how complex each of several instructions is (Deita's
complexity score).

distilabel's columns and answer format: input ``instructions``, output ``scores`` read from
``[i] Score: N`` lines (see :mod:`synthgen.tasks.scores`).
"""

from __future__ import annotations

from typing import Any

from synthgen.tasks._templates import load_template
from synthgen.tasks.scores import ScoringTask


def render_prompt(instructions: list[str], max_score: int = 6) -> str:
    """The judge's prompt: the numbered instructions and the answer format."""
    return load_template("complexity_scorer.jinja2").render(instructions=instructions, max_score=max_score)


class ComplexityScorer(ScoringTask):
    """Score the complexity of each of a row's ``instructions``, from 1 to ``max_score``.

    Inputs: ``instructions`` (a list of str).
    Outputs: ``scores`` (a float or ``None`` per instruction, same order), ``model_name``.
    """

    @property
    def inputs(self) -> list[str]:
        return ["instructions"]

    def items(self, row: dict[str, Any]) -> list[Any]:
        return list(row.get("instructions") or [])

    def format_input(self, row: dict[str, Any]) -> list[dict[str, str]]:
        """The judge's chat for ``row``."""
        instructions = ["" if i is None else str(i) for i in self.items(row)]
        return [{"role": "user", "content": render_prompt(instructions, self.max_score)}]
