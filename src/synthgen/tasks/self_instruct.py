"""SelfInstruct: generate user queries (instructions) about a topic or seed text.

The prompt follows the Self-Instruct query-generation template; the answer is read one query per line,
with list numbering and bullets stripped, preambles and empty lines dropped.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import Field

from synthgen.tasks._templates import load_template
from synthgen.tasks.base import Task

DEFAULT_CRITERIA = (
    "Incorporate a diverse range of verbs, avoiding repetition.\n"
    "Ensure queries are compatible with AI model's text generation functions and are limited to 1-2 sentences.\n"
    "Design queries to be self-contained and standalone.\n"
    'Blend interrogative (e.g., "What is the significance of x?") and imperative '
    '(e.g., "Detail the process of x.") styles.\n'
    "Write each query on a separate line and avoid using numbered lists or bullet points."
)
DEFAULT_APPLICATION = "AI assistant"

# "1.", "2)", "(3)", "-", "*", "•", optionally followed by a bold "Query 4:" style label.
_LIST_MARKER = re.compile(r"^(?:\(?\d+[.):]|[-*•+])\s+")
_LABEL = re.compile(r"^(?:\*\*)?(?:query|instruction|question)\s*\d*\s*:(?:\*\*)?\s*", re.IGNORECASE)
_HEADING = re.compile(r"^#+\s")


def render_prompt(
    topic: str,
    num_instructions: int = 5,
    criteria_for_query_generation: str = DEFAULT_CRITERIA,
    application_description: str = DEFAULT_APPLICATION,
) -> str:
    """The query-generation prompt for one topic (a plain user message ending in ``# Output``)."""
    return load_template("self_instruct.jinja2").render(
        input=topic,
        num_instructions=num_instructions,
        criteria_for_query_generation=criteria_for_query_generation,
        application_description=application_description,
    )


def clean_line(line: str) -> str:
    """One query without list numbering, bullets, labels, surrounding quotes or bold markers."""
    line = _LIST_MARKER.sub("", line.strip())
    line = _LABEL.sub("", line).strip()
    if len(line) >= 2 and line[0] == line[-1] and line[0] in "\"'`":
        line = line[1:-1].strip()
    return line.strip("*").strip()


def parse_instructions(text: str | None, num_instructions: int) -> list[str] | None:
    """The queries in ``text``, at most ``num_instructions``; ``None`` when the request failed.

    A line ending in ":" (``"Here are 5 queries:"``) is a preamble and is dropped. A markdown heading
    after the first query ends the list: a base model that goes on to write the next prompt section
    must not have it read as queries.
    """
    if text is None:
        return None
    instructions: list[str] = []
    for raw in text.splitlines():
        stripped = raw.strip()
        if _HEADING.match(stripped):
            if instructions:
                break
            continue
        line = clean_line(stripped)
        if not line or line.endswith(":"):
            continue
        instructions.append(line)
        if len(instructions) == num_instructions:
            break
    return instructions


class SelfInstruct(Task):
    """Generate ``num_instructions`` user queries for each row's ``input`` (a topic or seed text).

    Args:
        llm: the model that writes the queries.
        num_instructions: how many queries to ask for; at most this many are kept.
        criteria_for_query_generation: the "Criteria for Queries" section of the prompt.
        application_description: the "AI Application" the queries are for.

    Inputs: ``input``. Outputs: ``instructions`` (list of str), ``model_name``.
    """

    num_instructions: int = Field(default=5, ge=1)
    criteria_for_query_generation: str = DEFAULT_CRITERIA
    application_description: str = DEFAULT_APPLICATION

    @property
    def inputs(self) -> list[str]:
        return ["input"]

    @property
    def outputs(self) -> list[str]:
        return ["instructions", "model_name"]

    def format_input(self, row: dict[str, Any]) -> list[dict[str, str]]:
        """The query-generation chat for ``row``."""
        prompt = render_prompt(
            row["input"], self.num_instructions, self.criteria_for_query_generation, self.application_description
        )
        return [{"role": "user", "content": prompt}]

    def format_output(self, text: str | None, row: dict[str, Any]) -> dict[str, Any]:
        """``instructions`` parsed from ``text`` (``None`` when generation failed)."""
        return {"instructions": parse_instructions(text, self.num_instructions)}
