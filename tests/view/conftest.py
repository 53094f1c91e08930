"""The viewer's fixtures: one real cache per test session (a run against the test server, with failed
rows), and a viewer serving it on 127.0.0.1 and a free port."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from synthgen.view.command import start
from synthgen.view.server import ViewServer
from tests.view.cache_maker import PIPELINE, make_cache


@pytest.fixture(scope="session")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache root holding one finished run of the judged pipeline (rows 3 and 11 failed)."""
    return make_cache(tmp_path_factory.mktemp("view-cache"))


@pytest.fixture(scope="session")
def pdir(cache: Path) -> Path:
    """That run's pipeline folder."""
    return next((cache / PIPELINE).iterdir())


@pytest.fixture
def viewer(cache: Path) -> Iterator[ViewServer]:
    server = start(cache, "127.0.0.1", 0)
    try:
        yield server
    finally:
        server.stop()
