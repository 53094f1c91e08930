"""``EmbeddingDedup``: drop rows whose embedding is too close to an earlier kept row's.

The index is exact, brute-force cosine similarity in numpy (already a dependency through datasets and
pandas): a global step holds all its rows in memory anyway, and for the sizes that fit there (up to some
10^5 rows) one matrix product per block of rows is fast enough and never misses a duplicate. An
approximate index (faiss-cpu, usearch) would add a compiled dependency and recall below 1, worth it
only far beyond that size.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import Field

from synthgen.errors import StepError
from synthgen.steps.base import GlobalStep, Row, StepInput, StepOutput
from synthgen.steps.columns import require

KEEP_COLUMN = "keep_row_after_embedding_filtering"
"""distilabel's column: whether the row is kept (``keep_duplicates=True`` marks rows instead of dropping)."""


def near_duplicates(vectors: np.ndarray[Any, Any], threshold: float, block: int = 1024) -> list[bool]:
    """Per row, whether it is kept: a row whose cosine similarity to an earlier kept row is at least
    ``threshold`` is not. A block of rows is compared with one matrix product against the rows kept
    before it, then row by row within the block."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    unit = vectors / np.where(norms == 0, 1.0, norms)
    kept: list[int] = []
    for start in range(0, len(unit), block):
        chunk = unit[start:start + block]
        earlier = (chunk @ unit[kept].T).max(axis=1) if kept else np.full(len(chunk), -np.inf)
        within = chunk @ chunk.T
        local: list[int] = []
        for i in range(len(chunk)):
            closest = max(earlier[i], within[i, local].max() if local else -np.inf)
            if closest < threshold:
                local.append(i)
        kept.extend(start + i for i in local)
    kept_set = set(kept)
    return [i in kept_set for i in range(len(unit))]


class EmbeddingDedup(GlobalStep):
    """Remove near-duplicates by the cosine similarity of their ``embedding`` (first occurrence wins).

    Args:
        threshold: rows at least this similar (cosine, -1 to 1) to an earlier kept row are duplicates.
        keep_duplicates: keep every row and mark it in ``keep_row_after_embedding_filtering``, as
            distilabel does, instead of dropping duplicates.

    Input columns: ``embedding`` (a list of floats; rows without one are kept). Output columns: with
    ``keep_duplicates``, ``keep_row_after_embedding_filtering``.

    Raises:
        StepError: embeddings of different lengths.
    """

    threshold: float = Field(default=0.9, ge=-1.0, le=1.0)
    keep_duplicates: bool = False

    @property
    def inputs(self) -> list[str]:
        return ["embedding"]

    @property
    def outputs(self) -> list[str]:
        return [KEEP_COLUMN] if self.keep_duplicates else []

    def process(self, *inputs: StepInput) -> StepOutput:
        rows = [row for batch in inputs for row in batch]
        keep = self._keep(rows)
        if self.keep_duplicates:
            yield [{**row, KEEP_COLUMN: kept} for row, kept in zip(rows, keep, strict=True)]
        else:
            yield [row for row, kept in zip(rows, keep, strict=True) if kept]

    def _keep(self, rows: list[Row]) -> list[bool]:
        embedded = [i for i, row in enumerate(rows) if require(row, "embedding", self.name) is not None]
        keep = [True] * len(rows)  # a row without an embedding (a failed upstream row) is kept
        if embedded:
            for i, kept in zip(embedded, near_duplicates(self._matrix(rows, embedded), self.threshold), strict=True):
                keep[i] = kept
        return keep

    def _matrix(self, rows: list[Row], indices: list[int]) -> np.ndarray[Any, Any]:
        sizes = {len(rows[i]["embedding"]) for i in indices}
        if len(sizes) > 1:
            raise StepError(str(self.name), f"embeddings have different lengths ({sorted(sizes)}): embed all rows "
                                            "with one model")
        return np.asarray([rows[i]["embedding"] for i in indices], dtype=np.float64)
