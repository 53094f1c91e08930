"""``@task``: a task from a function, as distilabel's ``@task`` makes one.

The function's docstring holds the prompt as YAML front matter between two ``---`` lines::

    @task(inputs=["text"], outputs=["summary"])
    def Summarize(output: str | None, input: dict | None = None) -> dict:
        '''Summarize a text.

        ---
        system_prompt: You summarize texts in one sentence.
        user_message_template: |
          Summarize: {text}
        ---
        '''
        return {"summary": output.strip()}

``{column}`` fields are filled from the row; the function turns the LLM's answer into the output columns.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from typing import Any, ClassVar

import yaml

from synthgen.errors import ConfigError, StepError
from synthgen.llms.requests import ChatType
from synthgen.steps.base import normalize_columns
from synthgen.tasks.base import Task

FormatOutput = Callable[..., dict[str, Any]]
PLACEHOLDER = re.compile(r"\{(\w+)\}")
_FENCE = re.compile(r"^---[ \t]*$", re.MULTILINE)
_TEMPLATE_KEYS = ("system_prompt", "user_message_template")


class FunctionTask(Task):
    """What ``@task`` classes share: prompts from the docstring templates, columns from the function.

    The templates are part of the fingerprint (editing the prompt reruns the task); the function's body
    is not, so bump ``version=`` in ``@task(...)`` when the parsing changes.
    """

    system_prompt_template: ClassVar[str] = ""
    user_message_template: ClassVar[str] = ""
    task_inputs: ClassVar[list[str] | dict[str, bool]] = []
    task_outputs: ClassVar[list[str] | dict[str, bool]] = []

    @property
    def inputs(self) -> list[str] | dict[str, bool]:
        return self.task_inputs

    @property
    def outputs(self) -> dict[str, bool]:
        return {**normalize_columns(self.task_outputs), "model_name": True}

    def format_input(self, row: dict[str, Any]) -> ChatType:
        chat = [{"role": "system", "content": fill(self.system_prompt_template, row)}]
        chat = chat if self.system_prompt_template else []
        return [*chat, {"role": "user", "content": fill(self.user_message_template, row)}]

    def format_output(self, text: str, row: dict[str, Any]) -> dict[str, Any]:
        columns = self._parse_output(text, row)
        if not isinstance(columns, dict):
            raise StepError(str(self.name), f"the @task function returned {type(columns).__name__}: "
                            "it must return a dict of output columns, e.g. {'summary': output}")
        return columns

    def _parse_output(self, text: str, row: dict[str, Any]) -> Any:  # pragma: no cover - set by @task
        raise NotImplementedError

    def fingerprint_params(self) -> dict[str, Any]:
        return {**super().fingerprint_params(), "system_prompt_template": self.system_prompt_template,
                "user_message_template": self.user_message_template}


def task(
    inputs: list[str] | dict[str, bool] | None = None,
    outputs: list[str] | dict[str, bool] | None = None,
    version: int = 1,
) -> Callable[[FormatOutput], type[FunctionTask]]:
    """Make a Task class from a function that parses the LLM's answer.

    Args:
        inputs: the columns the templates use (a list, or a mapping column -> required).
        outputs: the columns the function returns.
        version: bump it when the function's parsing changes (its body is not hashed).

    Returns:
        A decorator: the function ``(output, input) -> dict`` becomes a Task class of the same name,
        constructed like any task (``Summarize(llm=...)``).

    Raises:
        ConfigError: the docstring has no ``---`` front matter with ``system_prompt`` and
            ``user_message_template``, or a template names a column that is not in ``inputs``.
    """
    def decorator(fn: FormatOutput) -> type[FunctionTask]:
        system, user = parse_docstring(fn)
        check_placeholders(fn.__name__, inputs or [], system, user)
        namespace: dict[str, Any] = {
            "__module__": fn.__module__, "__qualname__": fn.__qualname__, "__doc__": fn.__doc__,
            "version": version, "system_prompt_template": system, "user_message_template": user,
            "task_inputs": inputs or [], "task_outputs": outputs or [],
            "_parse_output": lambda self, text, row: fn(text, row),
        }
        return type(fn.__name__, (FunctionTask,), namespace)

    return decorator


def parse_docstring(fn: Callable[..., Any]) -> tuple[str, str]:
    """The system prompt and user message template from the YAML between the docstring's ``---`` lines.

    Raises:
        ConfigError: no docstring, no front matter, invalid YAML, or a missing key.
    """
    where = f"@task function '{fn.__name__}'"
    example = "---\\nsystem_prompt: ...\\nuser_message_template: ... {column} ...\\n---"
    parts = _FENCE.split(inspect.getdoc(fn) or "")
    if len(parts) != 3:
        raise ConfigError(f"{where}: its docstring must hold the prompts between two `---` lines: {example}")
    try:
        front = yaml.safe_load(parts[1])
    except yaml.YAMLError as exc:
        raise ConfigError(f"{where}: the docstring's front matter is not valid YAML ({exc})") from None
    missing = [k for k in _TEMPLATE_KEYS if not isinstance(front, dict) or not isinstance(front.get(k), str)]
    if missing:
        raise ConfigError(f"{where}: the docstring's front matter needs {' and '.join(missing)} (text): {example}")
    return front["system_prompt"].strip(), front["user_message_template"].strip()


def check_placeholders(name: str, inputs: list[str] | dict[str, bool], *templates: str) -> None:
    """Every ``{field}`` of the templates must be an input column.

    Raises:
        ConfigError: naming the unknown fields and the valid ones.
    """
    allowed = set(normalize_columns(inputs))
    unknown = sorted({f for t in templates for f in PLACEHOLDER.findall(t)} - allowed)
    if unknown:
        raise ConfigError(f"@task function '{name}': its templates use {', '.join(f'{{{u}}}' for u in unknown)}, "
                          f"which are not inputs; add them to inputs= (inputs: {', '.join(sorted(allowed)) or 'none'})")


def fill(template: str, row: dict[str, Any]) -> str:
    """``{column}`` fields replaced by the row's values; other braces (JSON examples) are left alone."""
    return PLACEHOLDER.sub(lambda m: str(row[m.group(1)]) if m.group(1) in row else m.group(0), template)
