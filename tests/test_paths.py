"""Every cache path stays inside its root, links included."""

from __future__ import annotations

from pathlib import Path

import pytest

from synthgen.errors import CacheError
from synthgen.paths import Confined, inside


def test_a_path_inside_the_root_is_given_back_unresolved(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "alias").symlink_to(tmp_path / "real")  # a link that stays inside is fine
    assert inside(tmp_path, "alias", "x.json") == tmp_path / "alias" / "x.json"
    assert Confined(tmp_path).path("a/b/c.json") == tmp_path / "a" / "b" / "c.json"


def test_a_root_that_is_itself_a_link_is_fine(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "root").symlink_to(tmp_path / "real")
    assert inside(tmp_path / "root", "x") == tmp_path / "root" / "x"


@pytest.mark.parametrize("part", ["..", "../x", "a/../../x", "/etc/passwd", "", "a\\..\\..\\x", "a\0b"])
def test_a_part_that_is_not_a_plain_relative_name_is_refused(tmp_path: Path, part: str) -> None:
    with pytest.raises(CacheError, match="refusing the cache path .* plain relative name"):
        inside(tmp_path, part)


def test_a_link_out_of_the_root_is_refused_at_any_depth(tmp_path: Path) -> None:
    root, outside = tmp_path / "root", tmp_path / "outside"
    (root / "a").mkdir(parents=True)
    outside.mkdir()
    (root / "a" / "b").symlink_to(outside)
    with pytest.raises(CacheError, match=r"resolves to .*outside.*, outside the cache root .* remove the link"):
        inside(root, "a", "b", "c.json")
    (root / "file").symlink_to(outside / "secret")  # a link to a file that does not exist yet
    with pytest.raises(CacheError, match="outside the cache root"):
        inside(root, "file")
