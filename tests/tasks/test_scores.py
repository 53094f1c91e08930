"""The numbered-score parser shared by QualityScorer and ComplexityScorer: read by item number, never shifted."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from synthgen.tasks.scores import parse_numbered_scores, parse_score, parse_scores_answer, render_scores


@pytest.mark.parametrize(
    ("text", "count", "expected"),
    [
        ("[1] Score: 4\n[2] Score: 2\n[3] Score: 6", 3, [4.0, 2.0, 6.0]),
        # Item 2 has no line: item 3 keeps its own score, nothing shifts.
        ("[1] Score: 4\n[3] Score: 5", 3, [4.0, None, 5.0]),
        ("Sure! Here are the scores.\n\n**[1] Score:** 3\n- [2] score: 5/6\n", 2, [3.0, 5.0]),
        ("[2] Score: 1\n[1] Score: 2", 2, [2.0, 1.0]),
        ("[1] Score: 4\n[1] Score: 1", 1, [4.0]),  # a model that starts over cannot change a score
        ("[1] Score: four\n[2] Score: 9\n[3] Score: 0\n[4] Score: 4/10\n[5] Score: 3.5", 5,
         [None, None, None, None, 3.5]),
        ("[1] Score: 4\n[2] Score: 2\n[3] Score: 5", 2, [4.0, 2.0]),  # lines past the items are ignored
    ],
)
def test_scores_are_read_by_item_number(text: str, count: int, expected: list[float | None]) -> None:
    assert parse_numbered_scores(text, count, max_score=6) == expected


def test_an_answer_with_no_score_line_is_an_error() -> None:
    with pytest.raises(ValueError, match=r"no '\[1\] Score: N' line"):
        parse_numbered_scores("I think the first one is best.", 2, max_score=6)


@pytest.mark.parametrize(("value", "expected"), [("4", 4.0), (" **5** ", 5.0), ("2/6", 2.0), ("4 - good", 4.0),
                                                  ("45", None), ("4/5", None), ("N/A", None), ("", None)])
def test_parse_score(value: str, expected: float | None) -> None:
    assert parse_score(value, max_score=6) == expected


@pytest.mark.parametrize(
    ("answer", "expected"),
    [('{"scores": [3, 5]}', [3.0, 5.0]), ('```json\n{"scores": [2]}\n```', [2.0, None]),
     ('{"scores": [7, "4", true]}', [None, 4.0]), ('{"scores": [1, 2, 3]}', [1.0, 2.0])],
)
def test_json_answers_are_read_as_strictly(answer: str, expected: list[float | None]) -> None:
    assert parse_scores_answer(answer, 2, max_score=6) == expected


@pytest.mark.parametrize("answer", ['{"scores": [3, 5', '{"grades": [3]}'])
def test_a_json_answer_without_scores_is_an_error(answer: str) -> None:
    with pytest.raises(ValueError, match="JSON answer"):
        parse_scores_answer(answer, 2, max_score=6)


@settings(max_examples=100, deadline=None)
@given(scores=st.lists(st.integers(min_value=1, max_value=6), min_size=1, max_size=8))
def test_a_rendered_answer_parses_back(scores: list[int]) -> None:
    assert parse_numbered_scores(render_scores(scores), len(scores), 6) == [float(s) for s in scores]
