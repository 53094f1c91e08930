"""The server-drawn SVG: layered DAG layout, bars scaled to the tallest, labels escaped."""

from __future__ import annotations

import re

from synthgen.view.stats import Histogram
from synthgen.view.svg import bar_chart, dag, layers


def test_a_step_sits_one_layer_below_its_deepest_predecessor() -> None:
    edges = [("load", "a"), ("load", "b"), ("a", "c"), ("b", "join"), ("c", "join")]
    assert layers(["load", "a", "b", "c", "join"], edges) == [["load"], ["a", "b"], ["c"], ["join"]]


def test_the_dag_has_a_box_per_step_and_an_arrow_per_connection() -> None:
    drawing = dag({"load": "load_data", "gen": "text_generation", "<x>": "keep"}, [("load", "gen"), ("gen", "<x>")], {})
    assert drawing.count('class="node"') == 3 and drawing.count('class="edge"') == 2
    assert "&lt;x&gt;" in drawing and "<x>" not in drawing


def test_bars_are_scaled_to_the_tallest_and_labelled() -> None:
    chart = bar_chart(Histogram("ratings", ["1", "2", "<3>"], [2, 4, 0]), "ratings")
    heights = [int(h) for h in re.findall(r'class="bar" x="\d+" y="\d+" width="\d+" height="(\d+)"', chart)]
    assert heights == [70, 140, 0]
    assert 'data-column="ratings"' in chart and "&lt;3&gt;" in chart
