"""``CLAIR``: minimal revisions of a student's solution by a teacher model, for contrastive preference
pairs (Contrastive Learning from AI Revisions).

distilabel's columns: inputs ``task`` and ``student_solution``; outputs ``revision`` (the corrected
solution) and ``rational`` (the teacher's reasoning), read from ``Teacher Reasoning:`` and
``Corrected Student Solution:`` sections.
"""

from __future__ import annotations

import re
from typing import Any

from synthgen.tasks._templates import load_template
from synthgen.tasks.base import Task

_CORRECTED = re.compile(r"^[ \t#*_]*Corrected Student Solution[ \t*_]*:[ \t*_]*", re.IGNORECASE | re.MULTILINE)
_REASONING = re.compile(r"^[ \t#*_]*Teacher Reasoning[ \t*_]*:[ \t*_]*", re.IGNORECASE)


def parse_revision(text: str) -> dict[str, str | None]:
    """``revision`` and ``rational`` from the teacher's answer (the first ``Corrected Student Solution:``
    starts the revision; the text before it, without its label, is the reasoning).

    Raises:
        ValueError: there is no ``Corrected Student Solution:`` section or it is empty.
    """
    parts = _CORRECTED.split(text, maxsplit=1)
    if len(parts) < 2:
        raise ValueError("the answer has no 'Corrected Student Solution:' section")
    revision = parts[1].strip()
    if not revision:
        raise ValueError("the 'Corrected Student Solution:' section is empty")
    rational = _REASONING.sub("", parts[0].strip()).strip()
    return {"revision": revision, "rational": rational or None}


class CLAIR(Task):
    """Revise each row's ``student_solution`` to its ``task`` as little as needed to make it right.

    Args:
        llm: the teacher.
        system_prompt: the teacher's instructions (a minimal-revision prompt by default).

    Inputs: ``task``, ``student_solution``. Outputs: ``revision``, ``rational``, ``model_name``.
    """

    system_prompt: str | None = None

    @property
    def inputs(self) -> list[str]:
        return ["task", "student_solution"]

    @property
    def outputs(self) -> list[str]:
        return ["revision", "rational", "model_name"]

    def format_input(self, row: dict[str, Any]) -> list[dict[str, str]]:
        """The teacher's chat for ``row``."""
        system = self.system_prompt or load_template("clair_system.jinja2").render().strip()
        user = load_template("clair.jinja2").render(task=row["task"], student_solution=row["student_solution"])
        return [{"role": "system", "content": system}, {"role": "user", "content": user}]

    def format_output(self, text: str, row: dict[str, Any]) -> dict[str, Any]:
        """``revision`` and ``rational`` from the answer.

        Raises:
            ValueError: the answer has no revision (recorded as the row's error).
        """
        return parse_revision(text)
