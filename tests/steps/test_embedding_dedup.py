"""EmbeddingDedup: exact cosine near-duplicate removal, first occurrence wins."""

from __future__ import annotations

import numpy as np
import pytest

from synthgen.errors import StepError
from synthgen.steps.embedding_dedup import KEEP_COLUMN, EmbeddingDedup, near_duplicates


def test_near_duplicates_of_kept_rows_are_dropped_in_order() -> None:
    rows = [{"id": 0, "embedding": [1.0, 0.0]}, {"id": 1, "embedding": [0.0, 1.0]},
            {"id": 2, "embedding": [0.99, 0.05]}, {"id": 3, "embedding": [0.7, 0.7]}, {"id": 4, "embedding": None}]
    out = next(EmbeddingDedup(threshold=0.95).process(rows))
    assert [r["id"] for r in out] == [0, 1, 3, 4]


def test_keep_duplicates_marks_rows_like_distilabel() -> None:
    step = EmbeddingDedup(threshold=0.9, keep_duplicates=True)
    out = next(step.process([{"embedding": [1.0, 0.0]}, {"embedding": [2.0, 0.0]}]))
    assert [r[KEEP_COLUMN] for r in out] == [True, False] and step.outputs == [KEEP_COLUMN]


def test_a_duplicate_of_a_dropped_row_is_compared_with_kept_rows_only() -> None:
    # b is dropped as a duplicate of a; c is close to b but not to a, so c is kept.
    a, b, c = [1.0, 0.0], [0.94, 0.34], [0.77, 0.64]
    assert near_duplicates(np.array([a, b, c]), 0.93) == [True, False, True]


def test_blocks_give_the_same_answer_as_one_block() -> None:
    vectors = np.random.default_rng(0).normal(size=(300, 4))
    assert near_duplicates(vectors, 0.9, block=7) == near_duplicates(vectors, 0.9, block=1024)


def test_embeddings_of_different_lengths_are_an_error() -> None:
    with pytest.raises(StepError, match="embeddings have different lengths"):
        next(EmbeddingDedup().process([{"embedding": [1.0]}, {"embedding": [1.0, 0.0]}]))
