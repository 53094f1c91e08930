"""Formatting steps: turn generation rows into SFT and DPO training columns."""

from __future__ import annotations

import hashlib
from typing import Any

from synthgen.errors import StepError
from synthgen.steps.base import Row, Step, StepInput, StepOutput

Message = dict[str, Any]
_PAIR_COLUMNS = ("chosen", "chosen_rating", "rejected", "rejected_rating")
_MODEL_COLUMNS = ("chosen_model", "rejected_model")


def prompt_id(prompt: str | None) -> str | None:
    """SHA-256 hex digest of the prompt: the same prompt gets the same id in every dataset.

    ``None`` for a missing prompt (an upstream generation that failed), so the row is kept.
    """
    return None if prompt is None else hashlib.sha256(prompt.encode("utf-8")).hexdigest()


def prompt_messages(row: Row) -> list[Message]:
    """The chat messages before the answer: an optional system prompt, then the instruction."""
    messages: list[Message] = [{"role": "user", "content": row["instruction"]}]
    if row.get("system_prompt") is not None:
        messages.insert(0, {"role": "system", "content": row["system_prompt"]})
    return messages


class FormatTextGenerationSFT(Step):
    """Add supervised fine-tuning columns to rows of (instruction, generation).

    Input columns: ``instruction``, ``generation``; optional ``system_prompt``.

    Output columns: ``prompt`` (the instruction), ``prompt_id`` (its SHA-256), ``completion`` (the
    generation) and ``messages`` (system?, user and assistant chat messages; ``None`` when the
    generation or the instruction is ``None``, so failed generations are easy to filter out). Other
    columns pass through.
    """

    @property
    def inputs(self) -> dict[str, bool]:
        return {"system_prompt": False, "instruction": True, "generation": True}

    @property
    def outputs(self) -> list[str]:
        return ["prompt", "prompt_id", "completion", "messages"]

    def process(self, *inputs: StepInput) -> StepOutput:
        for rows in inputs:
            yield [self._format(row) for row in rows]

    def _format(self, row: Row) -> Row:
        generation = row["generation"]
        messages = None
        if generation is not None and row["instruction"] is not None:
            messages = [*prompt_messages(row), {"role": "assistant", "content": generation}]
        return {**row, "prompt": row["instruction"], "prompt_id": prompt_id(row["instruction"]),
                "completion": generation, "messages": messages}


class FormatTextGenerationDPO(Step):
    """Add preference (DPO) columns to rows of (instruction, generations, ratings).

    ``chosen`` is the highest-rated generation and ``rejected`` the lowest-rated of the others,
    the first in order among equal ratings; ``None`` ratings are ignored. ``chosen`` and
    ``rejected`` are chat messages (system?, user, assistant), the format TRL expects. A row with
    fewer than two rated generations (or a ``None`` instruction, generations or ratings) is kept
    with the pair columns set to ``None``.

    Input columns: ``instruction``, ``generations``, ``ratings``; optional ``system_prompt`` and
    ``generation_models``.

    Output columns: ``prompt``, ``prompt_id`` (SHA-256 of the prompt), ``chosen``, ``chosen_rating``,
    ``rejected``, ``rejected_rating``; plus ``chosen_model`` and ``rejected_model`` when the rows
    have ``generation_models``. Other columns pass through.

    Raises:
        StepError: when a row's ``ratings`` and ``generations`` differ in length.
    """

    @property
    def inputs(self) -> dict[str, bool]:
        return {"system_prompt": False, "instruction": True, "generations": True,
                "generation_models": False, "ratings": True}

    @property
    def outputs(self) -> dict[str, bool]:
        # The model columns come only with ``generation_models``: declared, but not required of every row.
        return {**dict.fromkeys(["prompt", "prompt_id", *_PAIR_COLUMNS], True), **dict.fromkeys(_MODEL_COLUMNS, False)}

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
        generations, ratings = row["generations"], row["ratings"]
        if generations is not None and ratings is not None and len(ratings) != len(generations):
            raise StepError(str(self.name), f"row has {len(generations)} generations but {len(ratings)} ratings: "
                                            f"ratings must score each generation in order")
        out = {**row, "prompt": row["instruction"], "prompt_id": prompt_id(row["instruction"])}
        # A failed upstream generation (None) keeps its row, without a pair.
        usable = generations is not None and ratings is not None and row["instruction"] is not None
        pair = pick_pair(ratings) if usable else None
        out.update(self._pair_columns(row, generations, ratings, pair))
        return out

    def _pair_columns(self, row: Row, generations: list[Any] | None, ratings: list[Any] | None,
                      pair: tuple[int, int] | None) -> Row:
        models = row.get("generation_models")
        columns: Row = dict.fromkeys(_PAIR_COLUMNS)
        if models is not None:
            columns.update(dict.fromkeys(_MODEL_COLUMNS))
        if pair is None or generations is None or ratings is None:
            return columns
        for side, index in zip(("chosen", "rejected"), pair, strict=True):
            columns[side] = [*prompt_messages(row), {"role": "assistant", "content": generations[index]}]
            columns[f"{side}_rating"] = ratings[index]
            if models is not None:
                columns[f"{side}_model"] = models[index]
        return columns


def pick_pair(ratings: list[Any]) -> tuple[int, int] | None:
    """Indices ``(chosen, rejected)``: the first highest rating and the first lowest of the others.

    Returns ``None`` when fewer than two ratings are not ``None``.
    """
    rated = [i for i, rating in enumerate(ratings) if rating is not None]
    if len(rated) < 2:
        return None
    chosen = max(rated, key=lambda i: (ratings[i], -i))
    rejected = min((i for i in rated if i != chosen), key=lambda i: (ratings[i], i))
    return chosen, rejected
