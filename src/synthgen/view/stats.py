"""Numbers for the charts and the cost table, gathered in one streaming pass over a leaf's dataset.

Judge outputs (``ratings``, ``rating``, ``score``...: numbers, or lists of them) give rating histograms;
text columns give length distributions; ``synthgen_metadata.statistics_<step>`` gives each LLM step's
tokens. Results are cached per file set and modification time: a finished dataset is read once.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from synthgen.view.rows import METADATA, scan, schema, text_columns

RATING_WORDS = ("rating", "score")
LENGTH_BINS = 12


@dataclass
class Histogram:
    """Bars of a chart: ``labels[i]`` has ``counts[i]`` values."""

    column: str
    labels: list[str]
    counts: list[int]


@dataclass
class LeafStats:
    """What the charts and the cost table show for one leaf."""

    ratings: list[Histogram] = field(default_factory=list)
    lengths: list[Histogram] = field(default_factory=list)
    tokens: dict[str, tuple[int, int]] = field(default_factory=dict)


_CACHE: dict[tuple[tuple[str, float, int], ...], LeafStats] = {}
CACHED_LEAVES = 64  # a viewer left open through many reruns keeps the newest ones


def leaf_stats(files: list[Path]) -> LeafStats:
    """The histograms and token totals of the leaf made of ``files`` (computed once per version)."""
    key = tuple((str(f), f.stat().st_mtime, f.stat().st_size) for f in files)
    if key not in _CACHE:
        if len(_CACHE) >= CACHED_LEAVES:
            del _CACHE[next(iter(_CACHE))]  # the oldest entry (dicts keep insertion order)
        _CACHE[key] = _compute(files)
    return _CACHE[key]


def rating_columns(kinds: pa.Schema) -> list[str]:
    """Numeric columns (or lists of numbers) whose name says they hold a rating or a score."""
    return [f.name for f in kinds if any(w in f.name.lower() for w in RATING_WORDS) and _numeric(f.type)]


def _numeric(kind: pa.DataType) -> bool:
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        kind = kind.value_type
    return bool(pa.types.is_integer(kind) or pa.types.is_floating(kind))


def _compute(files: list[Path]) -> LeafStats:
    kinds = schema(files)
    ratings, texts = rating_columns(kinds), text_columns(kinds)
    values: dict[str, Counter[float]] = {c: Counter() for c in ratings}
    lengths: dict[str, list[np.ndarray]] = {c: [] for c in texts}
    tokens: dict[str, list[int]] = {}
    for batch in scan(files, ratings + texts + [METADATA]):
        for name in ratings:
            values[name].update(_flat(batch.column(name)).to_pylist())
        for name in texts:
            lengths[name].append(_flat(pc.utf8_length(_flat(batch.column(name)))).to_numpy(zero_copy_only=False))
        if METADATA in batch.schema.names:
            _add_tokens(tokens, batch.column(METADATA))
    return LeafStats([_rating_histogram(c, values[c]) for c in ratings if values[c]],
                     [h for c in texts if (h := _length_histogram(c, lengths[c])) is not None],
                     {step: (pair[0], pair[1]) for step, pair in tokens.items()})


def _flat(column: Any) -> Any:
    """A column's values, lists flattened, nulls dropped."""
    if pa.types.is_list(column.type) or pa.types.is_large_list(column.type):
        column = pc.list_flatten(column)
    return pc.drop_null(column)


def _rating_histogram(column: str, counts: Counter[float]) -> Histogram:
    values = sorted(counts)
    if len(values) > 20:  # a continuous score: ten equal bins
        edges = np.linspace(values[0], values[-1], 11)
        binned, _ = np.histogram(list(counts.elements()), bins=edges)
        return Histogram(column, [f"{a:.3g}–{b:.3g}" for a, b in zip(edges[:-1], edges[1:], strict=True)], [int(n) for n in binned])
    if all(float(v).is_integer() for v in values):  # every rating from the lowest to the highest, gaps shown
        whole = range(int(values[0]), int(values[-1]) + 1)
        return Histogram(column, [str(v) for v in whole], [counts.get(v, 0) for v in whole])
    return Histogram(column, [f"{v:g}" for v in values], [counts[v] for v in values])


def _length_histogram(column: str, parts: list[np.ndarray]) -> Histogram | None:
    """Lengths from the shortest to the longest text; None when every text has the same length (a
    label column such as ``model_name`` says nothing as a distribution)."""
    lengths = np.concatenate(parts) if parts else np.array([])
    if not len(lengths) or lengths.min() == lengths.max():
        return None
    low, high = int(lengths.min()), int(lengths.max())
    counts, edges = np.histogram(lengths, bins=min(LENGTH_BINS, high - low + 1), range=(low, high + 1))
    return Histogram(column, [_span(a, b) for a, b in zip(edges[:-1], edges[1:], strict=True)], [int(n) for n in counts])


def _span(start: float, stop: float) -> str:
    """The whole lengths in ``[start, stop)``: ``"12–15"``, or ``"12"`` for one."""
    first, last = int(np.ceil(start)), int(np.ceil(stop)) - 1
    return str(first) if first >= last else f"{first}–{last}"


def _add_tokens(tokens: dict[str, list[int]], meta: pa.Array) -> None:
    if not pa.types.is_struct(meta.type):
        return
    for i, child in enumerate(meta.type):
        if not child.name.startswith("statistics_") or not pa.types.is_struct(child.type):
            continue
        stats = pc.struct_field(meta, [i])
        total = tokens.setdefault(child.name.removeprefix("statistics_"), [0, 0])
        for j, counter in enumerate(("input_tokens", "output_tokens")):
            if child.type.get_field_index(counter) >= 0:
                total[j] += _sum(pc.struct_field(stats, [child.type.get_field_index(counter)]))


def _sum(column: Any) -> int:
    flat = _flat(column)
    return int(pc.sum(flat).as_py() or 0) if len(flat) else 0
