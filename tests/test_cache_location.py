"""The cache root: a path or a file:// URL; object storage is refused with what to use instead."""

from __future__ import annotations

from pathlib import Path

import pytest

from synthgen import Pipeline
from synthgen.errors import CacheError
from synthgen.steps.loaders import LoadDataFromDicts
from synthgen.store import Store


def test_a_file_url_is_the_path_it_names(tmp_path: Path) -> None:
    with Pipeline(name="url", cache_dir=f"file://{tmp_path}/cache") as p:
        LoadDataFromDicts(data=[{"a": 1}])
    assert p.run()["default"]["train"].to_list() == [{"a": 1}]
    assert (tmp_path / "cache" / "url").is_dir()
    assert not Path("file:").exists()  # no folder named after the URL's scheme


@pytest.mark.parametrize("url", ["s3://bucket/cache", "gs://bucket/cache", "hf://datasets/x/y"])
def test_object_storage_is_refused_before_anything_runs_naming_what_works(url: str) -> None:
    with pytest.raises(CacheError, match=r"atomic renames, fsync and file locks.*shared filesystem.*save_to_disk"):
        Pipeline(name="remote", cache_dir=url)
    with pytest.raises(CacheError, match=url.split("://")[0] + "://"):
        Store(url)


def test_the_environment_variable_is_checked_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNTHGEN_CACHE_DIR", "s3://bucket/cache")
    with pytest.raises(CacheError, match="s3:// URL"):
        Store()
