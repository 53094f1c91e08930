"""Histograms of ratings and text lengths, and tokens per step, from a leaf's files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from synthgen.view.stats import Histogram, leaf_stats


def write(tmp_path: Path, records: list[dict[str, Any]]) -> list[Path]:
    path = tmp_path / "00001.parquet"
    pq.write_table(pa.Table.from_pylist(records), path)
    return [path]


def test_integer_ratings_get_a_bar_per_value_gaps_included(tmp_path: Path) -> None:
    files = write(tmp_path, [{"ratings": [1, 2]}, {"ratings": [2, 5]}, {"ratings": None}, {"ratings": [None, 5]}])
    assert leaf_stats(files).ratings == [Histogram("ratings", ["1", "2", "3", "4", "5"], [1, 2, 0, 0, 2])]


def test_continuous_scores_get_ten_bins(tmp_path: Path) -> None:
    stats = leaf_stats(write(tmp_path, [{"score": i / 10} for i in range(100)]))
    (histogram,) = stats.ratings
    assert len(histogram.counts) == 10 and sum(histogram.counts) == 100


def test_text_lengths_span_the_shortest_to_the_longest_and_constant_columns_are_left_out(tmp_path: Path) -> None:
    files = write(tmp_path, [{"text": "a" * n, "model_name": "gpt"} for n in (1, 2, 2, 3)])
    assert leaf_stats(files).lengths == [Histogram("text", ["1", "2", "3"], [1, 2, 1])]


def test_tokens_are_summed_per_step_from_the_metadata_statistics(tmp_path: Path) -> None:
    meta = {"statistics_gen": {"input_tokens": [3, 4], "output_tokens": [10, 20]},
            "statistics_judge": {"input_tokens": [7], "output_tokens": [1]}, "error_gen": None}
    files = write(tmp_path, [{"synthgen_metadata": meta}, {"synthgen_metadata": meta}])
    assert leaf_stats(files).tokens == {"gen": (14, 60), "judge": (14, 2)}
