"""The viewer in a real browser (headless system Chromium), over caches made by real runs against the
OpenAI-compatible test server: the pages a user walks through, and a running pipeline's live counts."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from synthgen.view.command import start
from synthgen.view.server import ViewServer
from tests.view.browser import Shots, chromium_page, screenshots_on_failure, tour, why_no_browser
from tests.view.cache_maker import PIPELINE, start_server

pytestmark = pytest.mark.skipif(why_no_browser() is not None, reason=why_no_browser() or "")
ROOT = Path(__file__).parents[2]


def test_a_user_follows_a_pipeline_to_its_rows_failed_rows_and_rating_chart(
        viewer: ViewServer, tmp_path: Path) -> None:
    shots = Shots(tmp_path / "screenshots")
    with chromium_page() as page, screenshots_on_failure(page, shots):
        tour(page, viewer.url, shots)


def test_the_page_of_a_running_pipeline_shows_its_row_count_grow(tmp_path: Path) -> None:
    server = start_server(latency=0.25)
    run = subprocess.Popen([sys.executable, "-m", "tests.view.cache_maker", str(tmp_path), server.base_url,
                            "24", "2", "2"], cwd=ROOT)
    viewer = None
    shots = Shots(tmp_path / "screenshots")
    try:
        folder = _wait_for_folder(tmp_path / PIPELINE, run)
        viewer = start(tmp_path, "127.0.0.1", 0)
        with chromium_page() as page, screenshots_on_failure(page, shots):
            page.goto(f"{viewer.url}/run/{PIPELINE}/{folder.name}")
            assert page.inner_text("#status") == "running", "the page opened after the run ended"
            first = _rows(page, "judge")
            page.wait_for_function(
                f"Number(document.querySelector('tr[data-step=judge] [data-field=rows]').textContent"
                f".replace(/,/g, '')) > {first}", timeout=120_000)
            shots.take(page, "running")
            page.wait_for_function("document.getElementById('status').textContent !== 'running'", timeout=180_000)
            page.wait_for_selector("svg.chart.ratings", timeout=30_000)  # reloaded: the data is there
            assert _rows(page, "judge") == 24
    finally:
        run.wait(timeout=300)
        server.stop()
        if viewer is not None:
            viewer.stop()
    assert run.returncode == 0


def _wait_for_folder(parent: Path, run: subprocess.Popen[bytes]) -> Path:
    """The pipeline's folder once its run holds the lock (the run writes pipeline.yaml then)."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and run.poll() is None:
        found = [p for p in parent.glob("*/pipeline.yaml")] if parent.is_dir() else []
        if found:
            return found[0].parent
        time.sleep(0.2)
    raise AssertionError(f"the run never started (exit code {run.poll()})")


def _rows(page: object, step: str) -> int:
    text = page.inner_text(f"tr[data-step={step}] [data-field=rows]")  # type: ignore[attr-defined]
    return int(text.replace(",", ""))
