"""The run summary: rows per leaf, rating distribution, tokens, time."""

from __future__ import annotations

from pathlib import Path

from datasets import Dataset, DatasetDict

from synthgen.config.execute import summarise


def test_summary_counts_rows_ratings_and_tokens() -> None:
    rated = Dataset.from_list([
        {"ratings": [4, 5], "synthgen_metadata": {"statistics_gen": {"input_tokens": [3], "output_tokens": [7]}}},
        {"ratings": [None, 4], "synthgen_metadata": {"statistics_gen": {"input_tokens": [1, 1], "output_tokens": [1]}}},
    ])
    pairs = Dataset.from_list([{"ratings": [4, 5]}])
    report = summarise({"rated": DatasetDict(train=rated), "dpo": DatasetDict(train=pairs)}, Path("/x"), 1.25)
    assert report.rows == {"rated": 2, "dpo": 1}
    assert report.ratings == {"4": 2, "5": 1, "None": 1}
    assert report.tokens == {"input_tokens": 5, "output_tokens": 8}
    text = report.render()
    assert "dataset saved to /x" in text and "rated: 2 rows" in text and "time: 1.2s" in text
