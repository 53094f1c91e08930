"""``MergeColumns``: several columns of a row as one list column."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from synthgen.steps.base import Row, Step, StepInput, StepOutput
from synthgen.steps.columns import require


class MergeColumns(Step):
    """Merge ``columns`` into one list: list values are extended into it, other values appended.

    Args:
        columns: the columns to merge, in order.
        output_column: the new column (``merged_column`` by default, as in distilabel).

    Input columns: ``columns``. Output column: ``output_column``; the merged columns stay.
    """

    columns: list[str] = Field(min_length=1)
    output_column: str = "merged_column"

    @property
    def inputs(self) -> list[str]:
        return list(self.columns)

    @property
    def outputs(self) -> list[str]:
        return [self.output_column]

    def process(self, *inputs: StepInput) -> StepOutput:
        for rows in inputs:
            yield [{**row, self.output_column: self._merged(row)} for row in rows]

    def _merged(self, row: Row) -> list[Any]:
        merged: list[Any] = []
        for column in self.columns:
            value = require(row, column, self.name)
            merged.extend(value) if isinstance(value, (list, tuple)) else merged.append(value)
        return merged
