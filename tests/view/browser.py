"""Headless Chromium (Debian's ``chromium`` package) driven by Playwright, for the viewer's browser tests
and for the screenshots of docs/view.md, which come from the same walk through the pages.

Playwright's own browser downloads are never used: the browser is the system's ``chromium``.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.view.cache_maker import LIVE_ROWS

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")


def chromium_path() -> str | None:
    """The system Chromium, or None when none is installed."""
    return next((path for name in CHROMIUM_NAMES if (path := shutil.which(name))), None)


def why_no_browser() -> str | None:
    """Why the browser tests cannot run here (None when they can)."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "needs the playwright package (pip install 'synthgen[dev]')"
    if chromium_path() is None:
        return "needs Chromium: apt-get install -y chromium (`make test` installs it where apt is available)"
    return None


@contextmanager
def chromium_page(width: int = 1280, height: int = 900) -> Iterator[Any]:
    """A page of a headless system Chromium."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), headless=True,
                                             args=["--no-sandbox", "--disable-dev-shm-usage"])
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            page.set_default_timeout(30_000)
            yield page
        finally:
            browser.close()


class Shots:
    """Screenshots of the pages a test walks through, named in order, into ``folder``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.taken: list[Path] = []

    def take(self, page: Any, name: str, full_page: bool = True) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{name}.png"
        page.screenshot(path=str(path), full_page=full_page)
        self.taken.append(path)
        return path


@contextmanager
def screenshots_on_failure(page: Any, shots: Shots) -> Iterator[None]:
    """On a failure, the page as it is then joins the screenshots, and the error names their folder."""
    try:
        yield
    except BaseException as exc:
        try:
            shots.take(page, "at-failure")
        except Exception:  # the browser itself may be what failed
            pass
        print(f"screenshots of the pages visited: {shots.folder}", file=sys.stderr)
        raise AssertionError(f"{exc} (screenshots in {shots.folder})") from exc


def tour(page: Any, base_url: str, shots: Shots) -> None:
    """Walk the viewer as a user does, checking what each page shows, with a screenshot of each:
    start page -> pipeline -> its leaf's rows -> failed rows only -> a search."""
    page.goto(base_url)
    assert "judged" in page.inner_text("table.pipelines")
    size = page.viewport_size
    page.set_viewport_size({"width": size["width"], "height": 320})  # one line: no empty page around it
    shots.take(page, "view-pipelines")
    page.set_viewport_size(size)
    page.click("a.pipeline:text('judged')")
    page.wait_for_selector("svg.dag")
    check_run_page(page)
    shots.take(page, "view-run")
    page.click("a.rows-link:text('rated')")
    page.wait_for_selector("table.rows")
    check_rows_page(page)
    shots.take(page, "view-rows", full_page=False)
    page.check("#failed-only")
    page.wait_for_url("**failed=1**")
    check_failed_rows(page)
    shots.take(page, "view-failed-rows", full_page=False)
    page.fill("input[type=search]", "topic number 7")
    page.click("form.query button")
    page.wait_for_url("**q=topic**")
    assert page.inner_text("#matched").startswith("0 of 20"), "row 7 did not fail: failed-only finds nothing"
    page.uncheck("#failed-only")
    page.click("form.query button")
    page.wait_for_url(lambda url: "failed=1" not in url)
    assert page.inner_text("#matched").startswith("1 of 20")


def check_run_page(page: Any) -> None:
    assert page.inner_text("#status") == "finished with failed rows"
    assert page.locator("svg.dag g.node").count() == 4
    assert page.inner_text("table.steps tr[data-step=generate] [data-field=failed]") == "2"
    ratings = page.locator("svg.chart.ratings[data-column=ratings]")
    bars = ratings.locator("rect.bar")
    assert bars.count() >= 2, "ratings of 1 to 5: a bar per rating from the lowest to the highest"
    box = ratings.bounding_box()
    assert box and box["width"] > 0 and box["height"] > 0, "the rating chart is not rendered"
    heights = [float(bars.nth(i).get_attribute("height") or 0) for i in range(bars.count())]
    assert sum(heights) > 0, "the rating chart has no bars"
    assert "$" in page.inner_text("table.steps tr[data-step=judge]"), "gpt-4o-mini is in the price table"
    assert "hit" in page.inner_text("table.explain") or "miss" in page.inner_text("table.explain")


def check_rows_page(page: Any) -> None:
    assert page.inner_text("#matched").startswith("20 of 20")
    generations = page.locator("tr[data-row='0'] td[data-column=generations]").inner_text()
    assert "Here is a short answer to: Explain topic number 0" in generations
    assert page.locator("tr[data-row='0'] td[data-column=messages] .chat .msg").count() == 2


def check_failed_rows(page: Any) -> None:
    assert page.inner_text("#matched").startswith("2 of 20")
    rows = page.locator("table.rows tr.row")
    assert [rows.nth(i).get_attribute("data-row") for i in range(rows.count())] == ["3", "11"]
    assert all("HTTP 500" in rows.nth(i).locator(".error").first.inner_text() for i in range(rows.count()))


def watch_live(page: Any, base_url: str, shots: Shots) -> None:
    """From the start page, open the page of the running pipeline and see its counts grow, its progress
    chart drawn, and the page switch to the finished run (data and charts) when the run ends."""
    page.goto(base_url)
    assert page.inner_text("table.pipelines .status") == "running", "the start page opened after the run ended"
    page.click("a.pipeline:text('judged')")
    page.wait_for_selector("svg.dag")
    assert page.inner_text("#status") == "running", "the run ended before its page opened"
    first = rows_of(page, "judge")
    page.wait_for_function(f"Number(document.querySelector('tr[data-step=judge] [data-field=rows]')"
                           f".textContent.replace(/,/g, '')) > {first}", timeout=120_000)
    # Each poll adds a point: wait for a second one (the count may grow on the page's first poll).
    page.wait_for_function("(document.querySelector('#progress-chart polyline[data-step=judge]')"
                           "?.getAttribute('points') || '').trim().split(/\\s+/).length >= 2", timeout=30_000)
    line = page.locator("#progress-chart polyline[data-step=judge]")
    assert len((line.get_attribute("points") or "").split()) >= 2, "the progress chart draws each poll"
    shots.take(page, "view-running")
    page.wait_for_function("document.getElementById('status').textContent !== 'running'", timeout=180_000)
    page.wait_for_selector("svg.chart.ratings", timeout=30_000)  # reloaded: the data is there
    assert rows_of(page, "judge") == LIVE_ROWS


def rows_of(page: Any, step: str) -> int:
    return int(page.inner_text(f"tr[data-step={step}] [data-field=rows]").replace(",", ""))
