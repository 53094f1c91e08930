"""``TruncateTextColumn``: cut a text column to a maximum length, in tokens when a tokenizer is given."""

from __future__ import annotations

import importlib.util
from typing import Any

from pydantic import Field, PrivateAttr

from synthgen.errors import ConfigError, StepError
from synthgen.steps.base import Step, StepInput, StepOutput
from synthgen.steps.columns import require


class TruncateTextColumn(Step):
    """Truncate ``column`` to ``max_length`` characters, or tokens of ``tokenizer``.

    Args:
        column: the text column (``text`` by default).
        max_length: the most characters (or tokens) kept.
        tokenizer: a Hugging Face tokenizer name or path; needs ``transformers``. Without one the text is
            cut by characters.

    Input and output column: ``column`` (``None`` stays ``None``).
    """

    column: str = "text"
    max_length: int = Field(default=8192, ge=1)
    tokenizer: str | None = None

    _tokenizer: Any = PrivateAttr(default=None)

    def model_post_init(self, __context: Any) -> None:
        super().model_post_init(__context)
        if self.tokenizer is not None and importlib.util.find_spec("transformers") is None:
            raise ConfigError(f"TruncateTextColumn tokenizer={self.tokenizer!r} needs transformers: pip install "
                              "transformers, or leave tokenizer unset to cut by characters")

    @property
    def inputs(self) -> list[str]:
        return [self.column]

    @property
    def outputs(self) -> list[str]:
        return [self.column]

    def load(self) -> None:
        super().load()
        if self.tokenizer is not None and self._tokenizer is None:
            from transformers import AutoTokenizer

            self._tokenizer = AutoTokenizer.from_pretrained(self.tokenizer)

    def truncate(self, text: str) -> str:
        """``text`` cut to ``max_length`` characters or tokens."""
        if self._tokenizer is None:
            return text[: self.max_length]
        ids = self._tokenizer.encode(text, add_special_tokens=False)
        return text if len(ids) <= self.max_length else self._tokenizer.decode(ids[: self.max_length])

    def process(self, *inputs: StepInput) -> StepOutput:
        for rows in inputs:
            yield [{**row, self.column: self._cut(require(row, self.column, self.name))} for row in rows]

    def _cut(self, value: Any) -> Any:
        if value is None:
            return None
        if not isinstance(value, str):
            raise StepError(str(self.name), f"column '{self.column}' holds a {type(value).__name__}, not text")
        return self.truncate(value)
