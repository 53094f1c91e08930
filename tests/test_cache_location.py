"""The cache root: a path or a file:// URL is local; an object-storage URL splits into the bucket (shared)
and the driver's state folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from synthgen import Pipeline
from synthgen.cache_location import resolve_cache_root
from synthgen.steps.loaders import LoadDataFromDicts


def test_a_file_url_is_the_path_it_names(tmp_path: Path) -> None:
    with Pipeline(name="url", cache_dir=f"file://{tmp_path}/cache") as p:
        LoadDataFromDicts(data=[{"a": 1}])
    assert p.run()["default"]["train"].to_list() == [{"a": 1}]
    assert (tmp_path / "cache" / "url").is_dir()
    assert not Path("file:").exists()  # no folder named after the URL's scheme


def test_an_object_storage_root_keeps_its_pipeline_folders_in_the_state_dir(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("s3fs", reason="s3fs is not installed: pip install 'synthgen[s3]'")
    monkeypatch.setenv("SYNTHGEN_STATE_DIR", str(tmp_path / "state"))
    root = resolve_cache_root("s3://bucket/team/../cache/")
    assert root.remote == root.location == "s3://bucket/team/../cache"
    assert root.local == tmp_path / "state" / "s3" / "bucket" / "team" / "cache"  # no '..' out of the state dir


def test_the_environment_variable_may_name_a_bucket(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("s3fs", reason="s3fs is not installed: pip install 'synthgen[s3]'")
    monkeypatch.setenv("SYNTHGEN_CACHE_DIR", "s3://bucket/cache")
    monkeypatch.setenv("SYNTHGEN_STATE_DIR", str(tmp_path))
    assert resolve_cache_root(None).remote == "s3://bucket/cache"
    assert resolve_cache_root(None).local == tmp_path / "s3" / "bucket" / "cache"
