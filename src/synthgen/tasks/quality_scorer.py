"""``QualityScorer``: a judge scores several responses to one instruction (Deita's quality score).

distilabel's columns and answer format: inputs ``instruction`` and ``responses``, output ``scores``
read from ``[i] Score: N`` lines (see :mod:`synthgen.tasks.scores`).
"""

from __future__ import annotations

from typing import Any

from synthgen.tasks._templates import load_template
from synthgen.tasks.scores import ScoringTask


def render_prompt(instruction: str, responses: list[str], max_score: int = 6) -> str:
    """The judge's prompt: the instruction, the numbered responses and the answer format."""
    return load_template("quality_scorer.jinja2").render(
        instruction=instruction, responses=responses, max_score=max_score)


class QualityScorer(ScoringTask):
    """Score the quality of each of a row's ``responses`` to its ``instruction``, from 1 to ``max_score``.

    Inputs: ``instruction``, ``responses`` (a list of str).
    Outputs: ``scores`` (a float or ``None`` per response, same order), ``model_name``.
    """

    @property
    def inputs(self) -> list[str]:
        return ["instruction", "responses"]

    def items(self, row: dict[str, Any]) -> list[Any]:
        return list(row.get("responses") or [])

    def format_input(self, row: dict[str, Any]) -> list[dict[str, str]]:
        """The judge's chat for ``row``; a missing response (``None``) is shown empty, keeping the numbering."""
        responses = ["" if r is None else str(r) for r in self.items(row)]
        return [{"role": "user", "content": render_prompt(row["instruction"], responses, self.max_score)}]
