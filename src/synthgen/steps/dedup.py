"""Deduplication: exact (by column values) and near-duplicate (MinHash LSH) global steps."""

from __future__ import annotations

import importlib.util
import json
import re
from collections.abc import Iterator
from typing import Any

from pydantic import Field, model_validator

from synthgen.errors import ConfigError, MissingDependencyError, StepError
from synthgen.steps.base import GlobalStep, Row, StepInput, StepOutput
from synthgen.steps.columns import METADATA_KEY, require

_WORD = re.compile(r"\w+")


class DeduplicateExact(GlobalStep):
    """Drop rows whose values in ``columns`` equal those of an earlier row; order is preserved.

    Args:
        columns: the columns that make two rows duplicates; ``None`` compares every column except
            ``synthgen_metadata``.

    Input columns: ``columns``. Output columns: none added.

    Raises:
        StepError: when a row lacks one of ``columns``.
    """

    columns: list[str] | None = Field(default=None, min_length=1)

    @property
    def inputs(self) -> list[str]:
        return list(self.columns or [])

    def process(self, *inputs: StepInput) -> StepOutput:
        seen: set[str] = set()
        kept: list[Row] = []
        for row in _all_rows(inputs):
            key = self._key(row)
            if key not in seen:
                seen.add(key)
                kept.append(row)
        yield kept

    def _key(self, row: Row) -> str:
        if self.columns is None:
            values: dict[str, Any] = {k: v for k, v in row.items() if k != METADATA_KEY}
        else:
            values = {column: require(row, column, self.name) for column in self.columns}
        # Canonical JSON makes unhashable values (lists, dicts) comparable.
        return json.dumps(values, sort_keys=True, default=repr, ensure_ascii=False)


class MinHashDedup(GlobalStep):
    """Drop rows whose text is a near-duplicate of an earlier kept row (MinHash + LSH, ``datasketch``).

    Texts are lowercased and split into words; shingles are word n-grams (a text shorter than
    ``ngram_size`` words is one shingle). A row is dropped when LSH finds a kept row whose estimated
    Jaccard similarity is at least ``threshold``. Rows whose text is ``None`` are always kept.

    Args:
        column: the text column.
        threshold: the Jaccard similarity from which two texts are duplicates, in (0, 1).
        num_perm: permutations per MinHash; more is more accurate and slower.
        ngram_size: words per shingle.
        seed: the MinHash seed.

    Input columns: ``column``. Output columns: none added.

    Raises:
        MissingDependencyError: at construction, when ``datasketch`` is not installed.
        ConfigError: at construction, when ``threshold`` is too high for ``num_perm`` (LSH needs
            two bands or more: 0.9 works with 128 permutations, 0.99 does not).
        StepError: when a text is neither a string nor ``None``.
    """

    column: str = "text"
    threshold: float = Field(default=0.9, gt=0, lt=1)
    num_perm: int = Field(default=128, ge=2)
    ngram_size: int = Field(default=3, ge=1)
    seed: int = 1

    @model_validator(mode="after")
    def _check_datasketch(self) -> MinHashDedup:
        if importlib.util.find_spec("datasketch") is None:
            raise MissingDependencyError("datasketch", "minhash_dedup", extra="dedup")
        from datasketch import MinHashLSH

        try:  # LSH needs at least two bands: a high threshold needs more permutations
            MinHashLSH(threshold=self.threshold, num_perm=self.num_perm)
        except ValueError as exc:
            raise ConfigError(
                f"MinHashDedup: threshold={self.threshold} with num_perm={self.num_perm} is not usable ({exc}): "
                f"raise num_perm or lower threshold"
            ) from None
        return self

    @property
    def inputs(self) -> list[str]:
        return [self.column]

    def process(self, *inputs: StepInput) -> StepOutput:
        from datasketch import MinHashLSH

        lsh = MinHashLSH(threshold=self.threshold, num_perm=self.num_perm)
        hashes: dict[str, Any] = {}
        kept: list[Row] = []
        for index, row in enumerate(_all_rows(inputs)):
            text = require(row, self.column, self.name)
            if text is None:
                kept.append(row)
                continue
            minhash = self._minhash(text)
            # LSH banding only proposes candidates; the estimated Jaccard decides, which avoids
            # dropping rows that merely share a band.
            if not any(minhash.jaccard(hashes[key]) >= self.threshold for key in lsh.query(minhash)):
                hashes[str(index)] = minhash
                lsh.insert(str(index), minhash)
                kept.append(row)
        yield kept

    def _minhash(self, text: Any) -> Any:
        from datasketch import MinHash

        if not isinstance(text, str):
            raise StepError(str(self.name), f"column '{self.column}' holds a {type(text).__name__}: "
                                            f"MinHashDedup compares strings")
        minhash = MinHash(num_perm=self.num_perm, seed=self.seed)
        minhash.update_batch([s.encode("utf-8") for s in shingles(text, self.ngram_size)])
        return minhash


def shingles(text: str, size: int) -> set[str]:
    """Lowercased word n-grams of ``text``; the whole text is one shingle when it has fewer words."""
    words = _WORD.findall(text.lower())
    if len(words) <= size:
        return {" ".join(words)}
    return {" ".join(words[i : i + size]) for i in range(len(words) - size + 1)}


def _all_rows(inputs: tuple[StepInput, ...]) -> Iterator[Row]:
    for rows in inputs:
        yield from rows
