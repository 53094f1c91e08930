"""``TextGeneration``: one answer per row to a prompt rendered from its columns."""

from __future__ import annotations

from typing import Any

import jinja2
from pydantic import Field, PrivateAttr, field_validator

from synthgen.errors import ConfigError
from synthgen.llms.requests import ChatType
from synthgen.tasks.base import Task


class TextGeneration(Task):
    """Generate text from a Jinja2 template over the named columns.

    Args:
        template: Jinja2 template over ``columns``; ``None`` sends the (single) column as it is.
        columns: input columns the template uses.
        system_prompt: sent as a system message before the prompt.

    Output column: ``generation``.
    """

    template: str | None = None
    columns: list[str] = Field(default_factory=lambda: ["instruction"])
    system_prompt: str | None = None

    _compiled: jinja2.Template | None = PrivateAttr(default=None)

    @field_validator("columns")
    @classmethod
    def _some_columns(cls, columns: list[str]) -> list[str]:
        if not columns:
            raise ConfigError("TextGeneration needs at least one input column in `columns`")
        return columns

    def model_post_init(self, __context: Any) -> None:
        super().model_post_init(__context)
        if self.template is None and len(self.columns) > 1:
            raise ConfigError(
                f"step '{self.name}': columns {self.columns} need a `template` saying how to combine them, "
                "e.g. template='{{ " + self.columns[0] + " }}\\n\\n{{ " + self.columns[1] + " }}'"
            )
        if self.template is not None:
            self._compile(self.template)  # a syntax error is found at construction, not in a worker

    def load(self) -> None:
        super().load()
        # Compiled here, not at construction: a compiled template cannot be pickled to a worker.
        if self.template is not None:
            self._compiled = self._compile(self.template)

    def unload(self) -> None:
        self._compiled = None
        super().unload()

    def __getstate__(self) -> dict[Any, Any]:
        # A compiled template holds generated code that cannot be pickled: a copy compiles its own.
        state = super().__getstate__()
        return {**state, "__pydantic_private__": {**(state.get("__pydantic_private__") or {}), "_compiled": None}}

    def _compile(self, template: str) -> jinja2.Template:
        try:
            return jinja2.Environment(undefined=jinja2.StrictUndefined).from_string(template)
        except jinja2.TemplateSyntaxError as exc:
            raise ConfigError(f"step '{self.name}': invalid Jinja2 template: {exc}") from None

    @property
    def inputs(self) -> list[str]:
        return list(self.columns)

    def format_input(self, row: dict[str, Any]) -> ChatType:
        if self.template is not None:
            if self._compiled is None:  # format_input called without load() (tests, notebooks)
                self._compiled = self._compile(self.template)
            prompt = self._compiled.render(**{c: row.get(c) for c in self.columns})
        else:
            prompt = str(row[self.columns[0]])
        chat: ChatType = [{"role": "system", "content": self.system_prompt}] if self.system_prompt else []
        return [*chat, {"role": "user", "content": prompt}]
