"""``DeitaFiltering``: keep the best-scored rows that are not too close to a better one (DEITA).

The filtering step of "What Makes Good Data for Alignment?" (Liu et al., 2023), with distilabel's
columns: each row's DEITA score is its instruction complexity times its response quality
(``ComplexityScorer`` and ``QualityScorer`` scores, either alone when the other is missing); rows are
taken best score first, and a row is kept when its cosine distance to every row kept before it is at
least ``diversity_threshold``, until ``data_budget`` rows are kept. Exact numpy cosine search, as in
:mod:`synthgen.steps.embedding_dedup`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import Field

from synthgen.errors import StepError
from synthgen.steps.base import GlobalStep, Row, RuntimeParameter, StepInput, StepOutput

SCORES = ("evol_instruction_score", "evol_response_score")


def deita_score(row: Row) -> tuple[float | None, list[str]]:
    """The row's score and the score columns it was computed with (none: ``None``)."""
    used = [c for c in SCORES if isinstance(row.get(c), (int, float))]
    if not used:
        return None, []
    score = 1.0
    for column in used:
        score *= float(row[column])
    return score, used


class DeitaFiltering(GlobalStep):
    """Select up to ``data_budget`` rows by DEITA score, skipping rows too close to a better kept one.

    Args:
        data_budget: how many rows to keep at most.
        diversity_threshold: the smallest cosine distance (0 to 2) a row may have to the rows kept before
            it; distilabel's default is 0.9.
        normalize_embeddings: scale embeddings to unit length first (cosine distance then is
            ``1 - dot product``); without it, the dot product of the raw vectors is used.

    Input columns: ``evol_instruction_score``, ``evol_response_score`` (either may be ``None``),
    ``embedding``. Output columns: ``deita_score``, ``deita_score_computed_with``,
    ``nearest_neighbor_distance`` (to the closest row kept before it; ``None`` for the first one).

    Raises:
        StepError: embeddings of different lengths.
    """

    data_budget: RuntimeParameter[int] = Field(default=..., ge=1)
    diversity_threshold: RuntimeParameter[float] = Field(default=0.9, ge=0.0, le=2.0)
    normalize_embeddings: RuntimeParameter[bool] = True

    @property
    def inputs(self) -> dict[str, bool]:
        return {"evol_instruction_score": False, "evol_response_score": False, "embedding": True}

    @property
    def outputs(self) -> dict[str, bool]:
        return {"deita_score": True, "deita_score_computed_with": True, "nearest_neighbor_distance": True}

    def process(self, *inputs: StepInput) -> StepOutput:
        rows = [row for batch in inputs for row in batch]
        scored = [(i, *deita_score(row)) for i, row in enumerate(rows)]
        order = sorted((s for s in scored if s[1] is not None), key=lambda s: -s[1])  # type: ignore[operator]
        vectors = self._vectors(rows)
        kept: list[Row] = []
        chosen: list[int] = []
        for index, score, used in order:
            if len(kept) >= self.data_budget:
                break
            distance = self._nearest(vectors, index, chosen)
            if distance is None or distance >= self.diversity_threshold:
                chosen.append(index)
                kept.append({**rows[index], "deita_score": score, "deita_score_computed_with": used,
                             "nearest_neighbor_distance": distance})
        yield kept

    def _vectors(self, rows: list[Row]) -> np.ndarray[Any, Any]:
        try:
            vectors = np.asarray([row["embedding"] for row in rows], dtype=float)
        except ValueError:
            raise StepError(str(self.name), "embeddings of different lengths: embed every row with one model") from None
        if self.normalize_embeddings and len(vectors):
            norms = np.linalg.norm(vectors, axis=1, keepdims=True)
            vectors = vectors / np.where(norms == 0, 1.0, norms)
        return vectors

    @staticmethod
    def _nearest(vectors: np.ndarray[Any, Any], index: int, chosen: list[int]) -> float | None:
        if not chosen:
            return None
        return float((1.0 - vectors[chosen] @ vectors[index]).min())
