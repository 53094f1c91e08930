"""Write the screenshots of docs/view.md: the browser test's walk through the pages, over a fresh cache.

    python -m tests.view.screenshots docs/
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from synthgen.view.command import start
from tests.view.browser import Shots, chromium_page, tour, watch_live, why_no_browser
from tests.view.cache_maker import background_run, make_cache


def main(out: str = "docs") -> None:
    reason = why_no_browser()
    if reason:
        raise SystemExit(f"cannot take screenshots: {reason}")
    with tempfile.TemporaryDirectory() as tmp:
        viewer = start(make_cache(Path(tmp)), "127.0.0.1", 0)
        try:
            with chromium_page() as page:
                shots = Shots(Path(out))
                tour(page, viewer.url, shots)
        finally:
            viewer.stop()
    with tempfile.TemporaryDirectory() as tmp, background_run(Path(tmp)):
        viewer = start(Path(tmp), "127.0.0.1", 0)
        try:
            with chromium_page() as page:
                watch_live(page, viewer.url, shots)
        finally:
            viewer.stop()
    print("\n".join(str(p) for p in shots.taken))


if __name__ == "__main__":
    main(*sys.argv[1:])
