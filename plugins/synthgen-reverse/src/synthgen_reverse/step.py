"""``ReverseText``: writes a column's text backwards. Small on purpose: the plugin is the example."""

from __future__ import annotations

from synthgen.steps import Step, StepInput, StepOutput


class ReverseText(Step):
    """Reverse the text in ``column`` into ``output_column``.

    Args:
        column: the input column holding text.
        output_column: the column the reversed text goes to.
    """

    column: str = "text"
    output_column: str = "reversed"

    @property
    def inputs(self) -> list[str]:
        return [self.column]

    @property
    def outputs(self) -> list[str]:
        return [self.output_column]

    def process(self, *inputs: StepInput) -> StepOutput:
        # A normal step has one predecessor here, so there is one list of rows.
        yield [{**row, self.output_column: _reverse(row[self.column])} for row in inputs[0]]


def _reverse(text: str | None) -> str | None:
    # A failed generation upstream is None: keep it None rather than fail the batch.
    return None if text is None else text[::-1]
