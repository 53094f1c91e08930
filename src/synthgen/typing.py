"""The types users annotate with, in one module, under distilabel's names (``distilabel.typing``).

A script that did ``from distilabel.typing import StepColumns, FormattedInput`` imports the same names
from here.
"""

from __future__ import annotations

from typing import Any, Union

from pydantic import BaseModel

from synthgen.llms.requests import ChatType, GenerateOutput, LLMInput
from synthgen.steps.typing import GeneratorStepOutput, StepColumns, StepInput, StepOutput

ChatItem = dict[str, str]
"""One message of a chat: ``{"role": ..., "content": ...}``."""

StandardInput = ChatType
"""What a task's ``format_input`` usually returns: the chat to send."""

StructuredOutputType = Union[dict[str, Any], type[BaseModel]]
"""A structured-output schema: a JSON schema dict or a pydantic model class."""

FormattedInput = LLMInput
"""What a task's ``format_input`` returns: a chat or a plain prompt. (A per-row schema comes from
``Task.structured_output_for(row)``, not from a ``(chat, schema)`` tuple as in distilabel.)"""

InputDataset = Any
"""What ``Pipeline.run(dataset=...)`` takes: a ``datasets.Dataset``, a list of dicts or a pandas DataFrame."""

__all__ = [
    "ChatItem",
    "ChatType",
    "FormattedInput",
    "GenerateOutput",
    "GeneratorStepOutput",
    "InputDataset",
    "StandardInput",
    "StepColumns",
    "StepInput",
    "StepOutput",
    "StructuredOutputType",
]
