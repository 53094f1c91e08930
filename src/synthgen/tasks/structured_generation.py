"""``StructuredGeneration``: answer each row's instruction as JSON that follows the row's own schema.

distilabel's columns: inputs ``instruction`` and ``structured_output`` (``{"format": "json", "schema":
{...}}`` per row); output ``generation``, the JSON text. Each distinct schema is one ``generate`` call,
so the backend enforces it where it can (OpenAI, vLLM, llama.cpp grammars); an answer that does not
follow it is a row error with the raw answer kept in the metadata.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel

from synthgen.errors import StepError
from synthgen.llms.structured import parse_structured, schema_of
from synthgen.tasks.base import Task


class StructuredGeneration(Task):
    """Generate JSON for each row's ``instruction`` following its ``structured_output`` schema.

    Args:
        llm: the model; one that enforces a JSON schema gives answers that always parse.
        use_system_prompt: send the row's optional ``system_prompt`` column as a system message.

    Inputs: ``instruction``, ``structured_output`` (``{"format": "json", "schema": {...}}``, or ``None``
    for free text); optional ``system_prompt``. Outputs: ``generation`` (JSON text), ``model_name``.
    """

    use_system_prompt: bool = False

    @property
    def inputs(self) -> dict[str, bool]:
        return {"instruction": True, "structured_output": True, "system_prompt": False}

    def structured_output_for(self, row: dict[str, Any]) -> dict[str, Any] | type[BaseModel] | None:
        """The schema in the row's ``structured_output`` column.

        Raises:
            StepError: the column is not ``{"format": "json", "schema": {...}}``.
        """
        spec = row.get("structured_output")
        if spec is None:
            return None
        if not isinstance(spec, dict) or not isinstance(spec.get("schema"), dict):
            raise StepError(str(self.name), 'column structured_output must be {"format": "json", "schema": {...}}, '
                                            f"got {str(spec)[:80]!r}")
        if spec.get("format", "json") != "json":
            raise StepError(str(self.name), f"structured_output format {spec['format']!r} is not supported: "
                                            "only 'json' (a JSON schema) is")
        return dict(spec["schema"])

    def format_input(self, row: dict[str, Any]) -> list[dict[str, str]]:
        """The instruction as a user message, after the row's system prompt when asked."""
        system = row.get("system_prompt") if self.use_system_prompt else None
        chat = [{"role": "system", "content": str(system)}] if system else []
        return [*chat, {"role": "user", "content": str(row["instruction"])}]

    def format_output(self, text: str, row: dict[str, Any]) -> dict[str, Any]:
        """The answer as compact JSON text, checked against the row's schema.

        Raises:
            ValueError: the answer is not JSON or does not follow the schema (recorded as the row's error).
        """
        schema = schema_of(self.structured_output_for(row))
        if schema is None:
            return {"generation": text}
        return {"generation": json.dumps(parse_structured(text, schema), ensure_ascii=False)}
