"""``GeneratorTask``: a source of rows that asks an LLM for them (MagpieGenerator, EvolComplexityGenerator).

It is a generator step (no upstream step) that owns an LLM the way a :class:`~synthgen.tasks.base.Task`
does: the LLM is loaded with the step, is part of its fingerprint, and each row gets ``model_name`` and
a ``synthgen_metadata`` dict with its statistics, raw prompts and answers, and its error.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from synthgen.llms.base import LLM
from synthgen.steps.base import GeneratorStep, RuntimeParameter
from synthgen.tasks.base import METADATA_COLUMN


class GeneratorTask(GeneratorStep):
    """Base class of generator steps that call an LLM.

    Args:
        llm: the LLM that writes the rows.
        num_rows: how many rows to generate.
        add_raw_output / add_raw_input: record the model's answers / the prompts sent, in the metadata.
    """

    llm: LLM
    num_rows: int = Field(ge=1)
    add_raw_output: RuntimeParameter[bool] = True
    add_raw_input: RuntimeParameter[bool] = True

    def columns_after(self, incoming: set[str] | None) -> set[str] | None:
        return set(self.output_columns()) | {METADATA_COLUMN}

    def load(self) -> None:
        super().load()
        self.llm.step_name = self.name  # the replicas of this step share one token budget
        self.llm.load()

    def unload(self) -> None:
        self.llm.unload()
        super().unload()

    def batch_ranges(self, offset: int) -> list[tuple[int, int]]:
        """``(start, stop)`` row ranges of the batches from row ``offset`` on."""
        return [(start, min(start + self.batch_size, self.num_rows))
                for start in range(offset, self.num_rows, self.batch_size)]

    def metadata(self, prompts: list[Any], raw: list[Any], statistics: dict[str, list[int]],
                 error: str | None) -> dict[str, Any]:
        """The ``synthgen_metadata`` of one row, with the same keys a task writes."""
        meta: dict[str, Any] = {f"model_name_{self.name}": self.llm.model_name,
                                f"statistics_{self.name}": statistics}
        if self.add_raw_output:
            meta[f"raw_output_{self.name}"] = raw
        if self.add_raw_input:
            meta[f"raw_input_{self.name}"] = prompts
        meta[f"error_{self.name}"] = error
        return meta
