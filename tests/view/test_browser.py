"""The viewer in a real browser (headless system Chromium), over caches made by real runs against the
OpenAI-compatible test server: the pages a user walks through, and a running pipeline's live counts."""

from __future__ import annotations

from pathlib import Path

import pytest

from synthgen.view.command import start
from synthgen.view.server import ViewServer
from tests.view.browser import Shots, chromium_page, screenshots_on_failure, tour, watch_live, why_no_browser
from tests.view.cache_maker import background_run

pytestmark = pytest.mark.skipif(why_no_browser() is not None, reason=why_no_browser() or "")


def test_a_user_follows_a_pipeline_to_its_rows_failed_rows_and_rating_chart(
        viewer: ViewServer, tmp_path: Path) -> None:
    shots = Shots(tmp_path / "screenshots")
    with chromium_page() as page, screenshots_on_failure(page, shots):
        tour(page, viewer.url, shots)


def test_the_page_of_a_running_pipeline_shows_its_row_count_grow(tmp_path: Path) -> None:
    shots = Shots(tmp_path / "screenshots")
    with background_run(tmp_path):
        viewer = start(tmp_path, "127.0.0.1", 0)
        try:
            with chromium_page() as page, screenshots_on_failure(page, shots):
                watch_live(page, viewer.url, shots)
        finally:
            viewer.stop()


def test_a_failing_check_leaves_screenshots_of_the_pages_it_saw(viewer: ViewServer, tmp_path: Path) -> None:
    shots = Shots(tmp_path / "screenshots")
    with chromium_page() as page, pytest.raises(AssertionError, match="screenshots in .*screenshots"):
        with screenshots_on_failure(page, shots):
            page.goto(viewer.url)
            shots.take(page, "start")
            assert page.inner_text("h1") == "a heading the page does not have"
    assert sorted(p.name for p in shots.folder.iterdir()) == ["at-failure.png", "start.png"]
