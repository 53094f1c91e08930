"""``synthgen cache`` functions: listing, explaining misses, garbage collection, clearing."""

from __future__ import annotations

from pathlib import Path

import pytest

from synthgen.errors import CacheError
from synthgen.runner import cache_commands

from .pipelines import chain


@pytest.fixture(scope="module")
def explained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    cache = tmp_path_factory.mktemp("cache")
    chain(str(cache)).run()
    p = chain(str(cache))
    p.steps["b"].offset = 7  # type: ignore[attr-defined]
    p.run()
    return cache, cache_commands.explain("chain", cache)


def test_ls_lists_pipeline_signature_and_state(explained: tuple[Path, str]) -> None:
    out = cache_commands.ls(explained[0])
    assert "chain" in out and "finished" in out and "shared objects and records" in out


def test_explain_names_the_changed_parameter(explained: tuple[Path, str]) -> None:
    text = explained[1]
    assert "a: hit" in text
    assert "b: miss" in text and "parameter `offset` changed from 1 to 7" in text
    assert "total: miss" in text and "upstream step 'b'" in text


def test_explain_reports_use_cache_false(tmp_path: Path) -> None:
    chain(str(tmp_path)).run()
    p = chain(str(tmp_path))
    p.steps["c"].use_cache = False
    p.run()
    assert "c: miss" in cache_commands.explain("chain", tmp_path) and "use_cache=False" in cache_commands.explain("chain", tmp_path)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda root: cache_commands.explain("nope", root), "no cached pipeline named 'nope'"),
        (lambda root: cache_commands.clear("nope", root), "no cached pipeline named 'nope'"),
        (lambda root: cache_commands.ls(root / "missing"), "no cache at"),
    ],
)
def test_bad_names_and_paths_are_one_line_errors(explained: tuple[Path, str], call, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(CacheError, match=message) as err:
        call(explained[0])
    assert "\n" not in str(err.value)


def test_gc_keeps_referenced_objects_and_clear_removes_pipeline(tmp_path: Path) -> None:
    first = chain(str(tmp_path)).run()["default"]["train"].to_list()
    stray = tmp_path / "objects" / "ff" / ("ff" * 20 + ".arrow")
    stray.parent.mkdir(parents=True, exist_ok=True)
    stray.write_bytes(b"unreferenced")
    assert "removed 1 unreferenced objects" in cache_commands.gc(tmp_path)
    again = chain(str(tmp_path))
    again.steps["c"].use_cache = False
    assert again.run()["default"]["train"].to_list() == first
    assert "removed pipeline 'chain'" in cache_commands.clear("chain", tmp_path)
    assert not (tmp_path / "chain").exists()
