"""``synthgen cache`` functions: listing, explaining misses, garbage collection, clearing."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from synthgen.errors import CacheError
from synthgen.runner import cache_commands
from synthgen.store import Reuse, Store
from synthgen.testing.steps import batches_run

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


def test_ls_shows_the_bytes_of_the_objects_each_pipeline_refers_to(tmp_path: Path) -> None:
    chain(str(tmp_path)).run()
    header, line = cache_commands.ls(tmp_path).splitlines()[:2]
    assert header.split()[:4] == ["pipeline", "signature", "size", "objects"]
    objects = line.split()[4:6]  # e.g. ['31', 'KB']
    assert objects[1] in {"KB", "MB"} and float(objects[0]) > 0


def test_explain_names_the_changed_parameter(explained: tuple[Path, str]) -> None:
    text = explained[1]
    assert "gen: source read (200 rows)\n" in text, "a source whose rows did not change is not blamed"
    assert "a: hit" in text
    assert "b: miss" in text and "parameter `offset` changed from 1 to 7" in text
    assert "total: miss" in text and "upstream step 'b'" in text


def test_explain_tells_a_version_bump_from_a_parameter_change(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from synthgen.testing.steps import SumAll

    chain(str(tmp_path)).run()
    monkeypatch.setattr(SumAll, "version", 2)
    p = chain(str(tmp_path))
    p.steps["total"].resources.replicas = 1  # not output-relevant: never reported as the reason
    p.run()
    text = cache_commands.explain("chain", tmp_path)
    assert "total: miss" in text and "version bumped (the step's code changed)" in text
    assert "a: hit" in text and "b: hit" in text


def test_explain_never_blames_a_field_declared_outside_the_fingerprint(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from synthgen.testing.steps import AddColumn

    chain(str(tmp_path)).run()
    monkeypatch.setattr(AddColumn, "version", 2)
    p = chain(str(tmp_path))
    p.steps["c"].input_batch_size = 3  # declared IGNORE on Step; AddColumn is no registered class
    p.run()
    line = next(x for x in cache_commands.explain("chain", tmp_path).splitlines() if x.strip().startswith("c:"))
    assert "miss" in line and "version bumped (the step's code changed)" in line


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


def test_gc_keeps_every_column_a_kept_batch_refers_to_and_removes_the_rest(tmp_path: Path) -> None:
    chain(str(tmp_path)).run()
    store = Store(tmp_path)
    digest = store.get_record("batches", next((tmp_path / "batches").rglob("*.json")).stem)["digest"]  # type: ignore[index]
    kept = store.get_rows(digest)
    # An unreferenced batch that shares the kept batch's columns, plus a column of its own.
    stray, _ = store.put_rows([{**row, "only_here": "x"} for row in kept], Reuse(store.get_stored(digest), kept))
    pieces = store.manifest(stray)[1]  # type: ignore[index]
    (own,) = [d for d, _, _ in pieces.pop("only_here")]
    shared = {d for parts in pieces.values() for d, _, _ in parts}
    assert shared and "removed 2 unreferenced objects" in cache_commands.gc(tmp_path)
    assert not store.has_object(stray) and not store.has_object(own)
    assert all(store.has_object(d) for d in shared)
    for record in (tmp_path / "batches").rglob("*.json"):
        assert store.verify_object(store.get_record("batches", record.stem)["digest"])  # type: ignore[index]


def _start_chain(cache: Path, counts: Path) -> subprocess.Popen[str]:
    root = str(Path(__file__).parents[2])
    env = {**os.environ, "PYTHONPATH": root, "SYNTHGEN_LOG_LEVEL": "WARNING"}
    return subprocess.Popen([sys.executable, "-m", "tests.runner.pipelines", str(cache), "300", "0.08", str(counts)],
                            cwd=root, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_gc_refuses_beside_a_running_pipeline_and_keeps_a_killed_runs_batches(tmp_path: Path) -> None:
    cache, counts = tmp_path / "cache", tmp_path / "counts"
    counts.mkdir()
    proc = _start_chain(cache, counts)
    deadline = time.monotonic() + 60
    while batches_run(counts, "a") < 6 and time.monotonic() < deadline:
        time.sleep(0.05)
    with pytest.raises(CacheError, match="is running on this cache .* wait for it to finish before collecting garbage"):
        cache_commands.gc(cache)
    proc.kill()
    proc.wait(10)
    done_a = batches_run(counts, "a")
    assert done_a >= 6
    cache_commands.gc(cache)  # the killed run never saved: its batches are known from its log only
    chain(str(cache), count=300, count_dir=str(counts)).run()
    recomputed = batches_run(counts, "a") - done_a
    assert recomputed <= 20 - done_a + 2, "the batches written before the kill survived gc"
