"""``Task``: a step that asks an LLM for every row.

A task turns a row into a chat (``format_input``), lets its LLM answer, and turns the answer back into
columns (``format_output``). It adds ``model_name`` and a ``synthgen_metadata`` dict column holding,
per step, token statistics, the raw output and input when enabled, and the error when the row failed.
A failed row is kept, with ``None`` outputs: rows are never lost to one bad answer.
"""

from __future__ import annotations

import json
import math
from typing import Any

from pydantic import BaseModel, Field

from synthgen.llms.base import LLM
from synthgen.llms.requests import GenerateOutput, LLMInput
from synthgen.llms.structured import parse_structured, schema_of
from synthgen.steps.base import (
    RuntimeParameter,
    Step,
    StepInput,
    StepOutput,
    normalize_columns,
)

METADATA_COLUMN = "synthgen_metadata"


class Task(Step):
    """Base class of LLM steps.

    Args:
        llm: the LLM that answers.
        num_generations: answers per row.
        group_generations: one row holding the list of answers, instead of one row per answer.
        add_raw_output / add_raw_input: record the model's raw text / the chat sent, in the metadata.
        structured_output: a JSON schema dict or pydantic model class; the output column then holds the
            parsed object, and an answer that does not follow it is a per-row error.

    Subclasses implement ``inputs``, ``outputs``, ``format_input`` and, when they parse, ``format_output``
    (raise ``ValueError`` for an answer that cannot be parsed: it is recorded as the row's error).
    """

    llm: LLM
    num_generations: int = Field(default=1, ge=1)
    group_generations: bool = False
    add_raw_output: RuntimeParameter[bool] = True
    add_raw_input: RuntimeParameter[bool] = True
    structured_output: dict[str, Any] | type[BaseModel] | None = None

    # ---- columns ---------------------------------------------------------------------------
    @property
    def outputs(self) -> list[str] | dict[str, bool]:
        return ["generation", "model_name"]

    def columns_after(self, incoming: set[str] | None) -> set[str] | None:
        columns = super().columns_after(incoming)
        return None if columns is None else columns | {METADATA_COLUMN}

    def format_input(self, row: dict[str, Any]) -> LLMInput:
        """The chat (or prompt) to send for ``row``."""
        raise NotImplementedError(f"{type(self).__name__}.format_input is not implemented")

    def format_output(self, text: str, row: dict[str, Any]) -> dict[str, Any]:
        """Columns from one answer: ``{"generation": text}``, or the parsed object with structured output.

        Raises:
            ValueError: the answer does not follow the structured-output schema.
        """
        schema = schema_of(self.structured_output_for(row))
        return {"generation": parse_structured(text, schema) if schema is not None else text}

    def structured_output_for(self, row: dict[str, Any]) -> dict[str, Any] | type[BaseModel] | None:
        """The schema the answer for ``row`` must follow (``structured_output`` unless a task knows
        better per row, e.g. exactly one rating per response)."""
        return self.structured_output

    # ---- lifecycle and scheduling -------------------------------------------------------------
    @property
    def is_global(self) -> bool:
        # Offline batch jobs are submitted once for all of the step's rows, not per input batch.
        return super().is_global or bool(getattr(self.llm, "use_offline_batch_generation", False))

    def load(self) -> None:
        super().load()
        self.llm.step_name = self.name  # the replicas of this step share one token budget
        self.llm.load()

    def unload(self) -> None:
        self.llm.unload()
        super().unload()

    @property
    def max_batches_in_flight(self) -> int:
        """Batches the runner processes at once: enough that the LLM's window spans batch boundaries.

        Twice the window's worth: a batch holds its thread until its slowest request is answered, so
        with just one window's worth the window runs short of requests while batches drain.
        """
        concurrency = getattr(self.llm, "max_concurrency", None)
        if not concurrency:
            return 1
        return math.ceil(2 * concurrency * self.num_generations / self.input_batch_size) + 1

    # ---- processing ------------------------------------------------------------------------
    def process(self, *inputs: StepInput) -> StepOutput:
        rows = inputs[0] if inputs else []
        chats = [self.format_input(row) for row in rows]
        outputs = self._generate(chats, [self.structured_output_for(row) for row in rows])
        result: list[dict[str, Any]] = []
        for row, chat, output in zip(rows, chats, outputs, strict=True):
            result.extend(self._rows_for(row, chat, output))
        yield result

    def _generate(self, chats: list[LLMInput], schemas: list[Any]) -> list[GenerateOutput]:
        """One ``generate`` call per distinct schema (most tasks have one), answers in row order."""
        groups: dict[str, list[int]] = {}
        for i, schema in enumerate(schemas):
            groups.setdefault(json.dumps(schema_of(schema), sort_keys=True), []).append(i)
        outputs: list[GenerateOutput | None] = [None] * len(chats)
        for indices in groups.values():
            answers = self.llm.generate([chats[i] for i in indices], num_generations=self.num_generations,
                                        structured_output=schemas[indices[0]])
            for i, answer in zip(indices, answers, strict=True):
                outputs[i] = answer
        return [o for o in outputs if o is not None]

    def _rows_for(self, row: dict[str, Any], chat: LLMInput, output: GenerateOutput) -> list[dict[str, Any]]:
        errors = output.get("errors") or [None] * len(output["generations"])
        parsed = [self._parse(text, error, row) for text, error in zip(output["generations"], errors, strict=True)]
        stats = output["statistics"]
        if self.group_generations:
            columns = {k: [p[0].get(k) for p in parsed] for k in self._output_names()}
            failures = [p[1] for p in parsed if p[1]]
            meta = self._metadata(row, chat, output["generations"], stats, "; ".join(failures) or None)
            return [{**row, **columns, "model_name": self.llm.model_name, METADATA_COLUMN: meta}]
        out = []
        for i, (columns, error) in enumerate(parsed):
            one = {k: [v[i]] for k, v in stats.items()}
            meta = self._metadata(row, chat, output["generations"][i], one, error)
            out.append({**row, **columns, "model_name": self.llm.model_name, METADATA_COLUMN: meta})
        return out

    def _output_names(self) -> list[str]:
        return [c for c in normalize_columns(self.outputs) if c != "model_name"]

    def _parse(self, text: str | None, error: str | None, row: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
        empty = {k: None for k in self._output_names()}
        if text is None:
            return empty, error or "no generation"
        try:
            return {**empty, **self.format_output(text, row)}, None
        except ValueError as exc:
            return empty, f"could not parse the output: {exc}"

    def _metadata(self, row: dict[str, Any], chat: LLMInput, raw: Any, stats: dict[str, list[int]],
                  error: str | None) -> dict[str, Any]:
        meta = dict(row.get(METADATA_COLUMN) or {})
        # Per row, which model wrote this step's columns: `model_name` keeps only the last task's.
        meta[f"model_name_{self.name}"] = self.llm.model_name
        meta[f"statistics_{self.name}"] = stats
        if self.add_raw_output:
            meta[f"raw_output_{self.name}"] = raw
        if self.add_raw_input:
            meta[f"raw_input_{self.name}"] = chat
        meta[f"error_{self.name}"] = error
        return meta
