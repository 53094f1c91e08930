from __future__ import annotations

import importlib.util

import pytest

from synthgen.errors import ConfigError, MissingDependencyError, StepError
from synthgen.steps.base import GlobalStep, Step
from synthgen.steps.dedup import DeduplicateExact, MinHashDedup, shingles


def _run(step: Step, *inputs: list[dict]) -> list[dict]:
    step.load()
    try:
        return [row for batch in step.process(*inputs) for row in batch]
    finally:
        step.unload()


# ---- DeduplicateExact --------------------------------------------------------------------------
def test_exact_keeps_first_occurrence_in_order() -> None:
    rows = [{"id": i, "text": t} for i, t in enumerate(["a", "b", "a", "c", "b"])]
    assert [r["id"] for r in _run(DeduplicateExact(columns=["text"]), rows)] == [0, 1, 3]


def test_exact_compares_several_columns_and_unhashable_values() -> None:
    rows = [{"q": "x", "g": ["1", "2"]}, {"q": "x", "g": ["1", "2"]}, {"q": "y", "g": ["1", "2"]},
            {"q": "x", "g": ["2", "1"]}]
    assert _run(DeduplicateExact(columns=["q", "g"]), rows) == [rows[0], rows[2], rows[3]]


def test_exact_without_columns_compares_whole_rows_ignoring_metadata() -> None:
    rows = [{"a": 1, "synthgen_metadata": {"x": 1}}, {"a": 1, "synthgen_metadata": {"x": 2}}, {"a": 2}]
    assert _run(DeduplicateExact(), rows) == [rows[0], rows[2]]


def test_exact_dedups_across_all_predecessor_inputs() -> None:
    assert _run(DeduplicateExact(columns=["a"]), [{"a": 1}], [{"a": 1}, {"a": 2}]) == [{"a": 1}, {"a": 2}]


def test_exact_is_a_global_step_with_required_columns() -> None:
    step = DeduplicateExact(columns=["text"])
    assert isinstance(step, GlobalStep)
    assert step.inputs == ["text"]


def test_exact_missing_column_names_it() -> None:
    with pytest.raises(StepError, match="step 'dedup' failed: row has no column 'text'. Row columns: a"):
        _run(DeduplicateExact(columns=["text"], name="dedup"), [{"a": 1}])


# ---- MinHashDedup ------------------------------------------------------------------------------
BASE = "the quick brown fox jumps over the lazy dog near the river bank on a sunny afternoon in june"


def test_minhash_drops_near_duplicates_and_keeps_the_first() -> None:
    rows = [
        {"id": 0, "text": BASE},
        {"id": 1, "text": "A completely different sentence about synthetic data generation with LLMs."},
        {"id": 2, "text": BASE.upper() + "!"},  # same words once lowercased: a duplicate
        {"id": 3, "text": BASE.replace("june", "july")},  # one word differs
        {"id": 4, "text": "Yet another unrelated row that talks about pipelines and caches."},
    ]
    kept = _run(MinHashDedup(column="text", threshold=0.7, num_perm=128), rows)
    assert [r["id"] for r in kept] == [0, 1, 4]


def test_minhash_high_threshold_keeps_rows_that_differ_enough() -> None:
    rows = [{"text": BASE}, {"text": BASE.replace("june", "july")}]
    assert len(_run(MinHashDedup(threshold=0.95), rows)) == 2


@pytest.mark.parametrize(("threshold", "num_perm"), [(0.99, 128), (0.5, 2)])
def test_minhash_threshold_unusable_with_num_perm_is_a_config_error(threshold: float, num_perm: int) -> None:
    with pytest.raises(ConfigError, match=f"threshold={threshold} with num_perm={num_perm} is not usable.*raise num_perm"):
        MinHashDedup(threshold=threshold, num_perm=num_perm)


def test_minhash_keeps_rows_with_none_text() -> None:
    rows = [{"text": None}, {"text": None}, {"text": BASE}, {"text": BASE}]
    assert _run(MinHashDedup(), rows) == rows[:3]


def test_minhash_rejects_non_string_text() -> None:
    with pytest.raises(StepError, match="column 'text' holds a int: MinHashDedup compares strings"):
        _run(MinHashDedup(name="mh"), [{"text": 3}])


def test_minhash_requires_its_column() -> None:
    assert MinHashDedup(column="body").inputs == ["body"]


@pytest.mark.parametrize(
    ("text", "size", "expected"),
    [
        ("A b, C d!", 2, {"a b", "b c", "c d"}),
        ("one two", 3, {"one two"}),
        ("", 3, {""}),
    ],
    ids=["ngrams", "shorter-than-n", "empty"],
)
def test_shingles_are_lowercased_word_ngrams(text: str, size: int, expected: set[str]) -> None:
    assert shingles(text, size) == expected


def test_missing_datasketch_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "datasketch" else real(name, *a))
    with pytest.raises(MissingDependencyError, match=r"Please install `datasketch`.*pip install 'synthgen\[dedup\]'"):
        MinHashDedup()


def test_datasketch_is_not_imported_by_importing_the_module() -> None:
    import subprocess
    import sys

    code = "import sys, synthgen.steps.dedup; print('datasketch' in sys.modules)"
    assert subprocess.check_output([sys.executable, "-c", code], text=True).strip() == "False"
