"""Chat formatting steps: rows of (messages, generation[s]) as SFT and DPO training columns.

The chat counterparts of ``FormatTextGenerationSFT`` / ``DPO``: the prompt is a conversation
(``messages``) instead of one instruction, and the answer is appended to it as an assistant turn.
"""

from __future__ import annotations

from typing import Any

from synthgen.errors import StepError
from synthgen.steps.base import Row, Step, StepInput, StepOutput
from synthgen.steps.formatting import pick_pair, prompt_id

_PAIR_COLUMNS = ("chosen", "chosen_rating", "rejected", "rejected_rating")
_MODEL_COLUMNS = ("chosen_model", "rejected_model")


def last_user_message(messages: list[dict[str, Any]] | None) -> str | None:
    """The content of the last user turn: the prompt the generations answer (``None`` if there is none)."""
    users = [m.get("content") for m in messages or [] if m.get("role") == "user"]
    return users[-1] if users else None


def with_answer(messages: list[dict[str, Any]], answer: Any) -> list[dict[str, Any]]:
    """``messages`` followed by ``answer`` as the assistant's turn."""
    return [*messages, {"role": "assistant", "content": answer}]


class FormatChatGenerationSFT(Step):
    """Add supervised fine-tuning columns to rows of (messages, generation).

    Input columns: ``messages``, ``generation``.
    Output columns: ``prompt`` (the last user message), ``prompt_id`` (its SHA-256) and ``messages`` (the
    conversation with the generation appended; ``None`` when the generation is ``None``).
    """

    @property
    def inputs(self) -> list[str]:
        return ["messages", "generation"]

    @property
    def outputs(self) -> list[str]:
        return ["prompt", "prompt_id", "messages"]

    def process(self, *inputs: StepInput) -> StepOutput:
        for rows in inputs:
            yield [self._format(row) for row in rows]

    def _format(self, row: Row) -> Row:
        prompt = last_user_message(row["messages"])
        generation = row["generation"]
        messages = None if generation is None or row["messages"] is None else with_answer(row["messages"], generation)
        return {**row, "prompt": prompt, "prompt_id": prompt_id(prompt), "messages": messages}


class FormatChatGenerationDPO(Step):
    """Add preference (DPO) columns to rows of (messages, generations, ratings).

    ``chosen`` is the conversation with the highest-rated generation appended, ``rejected`` with the
    lowest-rated of the others (the first in order among equals; ``None`` ratings are ignored). A row
    with fewer than two rated generations keeps ``None`` pair columns.

    Input columns: ``messages``, ``generations``, ``ratings``; optional ``generation_models``.
    Output columns: ``prompt`` (the last user message), ``prompt_id``, ``chosen``, ``chosen_rating``,
    ``rejected``, ``rejected_rating``; ``chosen_model`` and ``rejected_model`` with ``generation_models``.

    Raises:
        StepError: when a row's ``ratings`` and ``generations`` differ in length.
    """

    @property
    def inputs(self) -> dict[str, bool]:
        return {"messages": True, "generations": True, "generation_models": False, "ratings": True}

    @property
    def outputs(self) -> list[str]:
        return ["prompt", "prompt_id", *_PAIR_COLUMNS, *_MODEL_COLUMNS]

    def columns_after(self, incoming: set[str] | None) -> set[str] | None:
        if incoming is None:
            return None
        added = {"prompt", "prompt_id", *_PAIR_COLUMNS}
        if self.input_mappings.get("generation_models", "generation_models") in incoming:
            added |= set(_MODEL_COLUMNS)
        return set(incoming) | {self.output_mappings.get(c, c) for c in added}

    def process(self, *inputs: StepInput) -> StepOutput:
        for rows in inputs:
            yield [self._format(row) for row in rows]

    def _format(self, row: Row) -> Row:
        generations, ratings, messages = row["generations"], row["ratings"], row["messages"]
        if generations is not None and ratings is not None and len(generations) != len(ratings):
            raise StepError(str(self.name), f"row has {len(generations)} generations but {len(ratings)} ratings: "
                                            "ratings must score each generation in order")
        prompt = last_user_message(messages)
        out: Row = {**row, "prompt": prompt, "prompt_id": prompt_id(prompt), **dict.fromkeys(_PAIR_COLUMNS)}
        models = row.get("generation_models")
        if models is not None:
            out.update(dict.fromkeys(_MODEL_COLUMNS))
        pair = pick_pair(ratings) if None not in (generations, ratings, messages) else None
        for side, index in zip(("chosen", "rejected"), pair or (), strict=False):
            out[side] = with_answer(messages, generations[index])
            out[f"{side}_rating"] = ratings[index]
            if models is not None:
                out[f"{side}_model"] = models[index]
        return out
