"""Tasks whose answer can be asked for as JSON, or parsed from the model's own format.

A judge or a writer that takes ``use_structured_output`` asks for JSON only where it helps: by default
where the backend enforces a schema itself (``supports_structured_output``); ``True``/``False`` force it.
Each task gives the schema of its answer for a row; its parser reads both forms.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from synthgen.tasks.base import Task


class JsonAnswerTask(Task):
    """A :class:`Task` whose answer has a JSON schema (:meth:`answer_schema`), asked for when
    :attr:`structured`. A ``structured_output`` set on the task wins over the schema."""

    use_structured_output: bool | None = None

    @property
    def structured(self) -> bool:
        """Whether the model is asked for JSON (see ``use_structured_output``)."""
        if self.use_structured_output is not None:
            return self.use_structured_output
        return bool(getattr(self.llm, "supports_structured_output", False))

    def answer_schema(self, row: dict[str, Any]) -> dict[str, Any]:
        """The JSON schema of the answer for ``row``."""
        raise NotImplementedError(f"{type(self).__name__}.answer_schema is not implemented")

    def structured_output_for(self, row: dict[str, Any]) -> dict[str, Any] | type[BaseModel] | None:
        if self.structured_output is not None or not self.structured:
            return self.structured_output
        return self.answer_schema(row)
