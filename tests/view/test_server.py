"""The viewer's routes over a real cache, through HTTP: pages, the live JSON, clear 404s."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from synthgen.view.server import ViewServer


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_the_start_page_links_every_pipeline_folder_with_its_status(viewer: ViewServer, pdir: Path) -> None:
    status, html = get(viewer.url)
    assert status == 200 and f'href="/run/judged/{pdir.name}"' in html
    assert "finished with failed rows" in html and "rated: 20" in html


def test_the_run_page_has_the_dag_counts_costs_explain_and_charts(viewer: ViewServer, pdir: Path) -> None:
    status, html = get(f"{viewer.url}/run/judged/{pdir.name}")
    assert status == 200 and html.count('class="node"') == 4
    assert 'svg class="chart ratings" data-column="ratings"' in html
    assert "first run of this step" in html and "row 3: HTTP 500" in html
    assert 'id="total-cost">$' in html


def test_the_live_json_has_status_and_rows_per_step(viewer: ViewServer, pdir: Path) -> None:
    status, body = get(f"{viewer.url}/api/run/judged/{pdir.name}")
    state = json.loads(body)
    assert status == 200 and state["status"] == "finished with failed rows"
    assert state["steps"]["judge"]["rows"] == 20 and state["steps"]["judge"]["failed"] == 2


def test_rows_are_paged_and_a_bad_offset_is_the_first_page(viewer: ViewServer, pdir: Path) -> None:
    status, html = get(f"{viewer.url}/rows/judged/{pdir.name}/rated?offset=-3&q=topic")
    assert status == 200 and "20 of 20 rows; showing 1–20" in html


@pytest.mark.parametrize("path, message", [
    ("/run/judged/nope", "no pipeline folder judged/nope in"),
    ("/run/objects/x", "no pipeline folder objects/x in"),
    ("/rows/judged/{sig}/judge", "no data for leaf &#x27;judge&#x27;"),
])
def test_what_is_not_there_is_a_404_that_says_so(viewer: ViewServer, pdir: Path, path: str, message: str) -> None:
    status, html = get(viewer.url + path.format(sig=pdir.name))
    assert status == 404 and message in html and 'href="/"' in html
