"""``ConversationTemplate``: an instruction and its response as a two-turn chat."""

from __future__ import annotations

from synthgen.steps.base import Row, Step, StepInput, StepOutput
from synthgen.steps.columns import require


class ConversationTemplate(Step):
    """Write ``instruction`` and ``response`` as a chat: a user turn, then an assistant turn.

    Input columns: ``instruction``, ``response``.
    Output column: ``conversation``, ``[{"role": "user", ...}, {"role": "assistant", ...}]``.

    Raises:
        StepError: when a row lacks ``instruction`` or ``response``.
    """

    @property
    def inputs(self) -> list[str]:
        return ["instruction", "response"]

    @property
    def outputs(self) -> list[str]:
        return ["conversation"]

    def process(self, *inputs: StepInput) -> StepOutput:
        for rows in inputs:
            yield [{**row, "conversation": self._conversation(row)} for row in rows]

    def _conversation(self, row: Row) -> list[dict[str, str]]:
        return [
            {"role": "user", "content": require(row, "instruction", self.name)},
            {"role": "assistant", "content": require(row, "response", self.name)},
        ]
