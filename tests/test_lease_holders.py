"""Local leases are hard links to their process's holder file: cheap to take, refreshed all at once,
judged by the holder they name, and files of their own where links cannot be made."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from synthgen import lease_holders, leases
from synthgen.leases import LocalLeases

ROOT = Path(__file__).resolve().parents[1]
KEYS = [f"{i:040x}" for i in range(3)]


def _lease(root: Path, key: str) -> Path:
    return root / "leases" / "requests" / key[:2] / f"{key}.lease"


def _holders(root: Path) -> list[Path]:
    return sorted((root / "leases" / "requests" / "holders").glob("*.holder"))


def test_a_lease_is_a_link_to_the_holder_file_that_names_this_process(tmp_path: Path) -> None:
    mine = LocalLeases(tmp_path, "requests")
    assert all(mine.acquire(key) for key in KEYS)
    [holder] = _holders(tmp_path)
    assert {os.stat(_lease(tmp_path, key)).st_ino for key in KEYS} == {holder.stat().st_ino}
    assert json.loads(_lease(tmp_path, KEYS[0]).read_text()) == {"host": leases.HOST, "pid": os.getpid()}
    assert not LocalLeases(tmp_path, "requests").acquire(KEYS[0]), "another run sees it held"
    mine.release(KEYS[0])
    assert not _lease(tmp_path, KEYS[0]).exists() and holder.exists(), "a release removes the link only"


def test_one_touch_of_the_holder_refreshes_every_lease(tmp_path: Path) -> None:
    mine = LocalLeases(tmp_path, "requests")
    assert all(mine.acquire(key) for key in KEYS)
    [holder] = _holders(tmp_path)
    old = time.time() - leases.STALE_AFTER - 5
    os.utime(holder, (old, old))
    assert all(LocalLeases._stale(str(_lease(tmp_path, key))) for key in KEYS), "not refreshed: stale"
    with mine._lock:
        held = list(mine._held.items())
    assert mine._renew_together(held) == [], "all refreshed through their holder, none one by one"
    assert not any(LocalLeases._stale(str(_lease(tmp_path, key))) for key in KEYS)


def test_a_lease_taken_after_a_quiet_while_looks_fresh(tmp_path: Path) -> None:
    """The heartbeat only refreshes while leases are held: a holder file idle for minutes is touched
    before a new link is made, or the new lease would look stale at once to another host."""
    mine = LocalLeases(tmp_path, "requests")
    assert mine.acquire(KEYS[0])
    mine.release(KEYS[0])
    [holder] = _holders(tmp_path)
    old = time.time() - leases.STALE_AFTER - 5
    os.utime(holder, (old, old))
    mine._holder._touched -= 2 * lease_holders.TOUCH_EVERY
    assert mine.acquire(KEYS[1])
    assert time.time() - _lease(tmp_path, KEYS[1]).stat().st_mtime < 5


DIES_HOLDING = """
import sys
from pathlib import Path
from synthgen.leases import LocalLeases
leases = LocalLeases(Path(sys.argv[1]), "requests")
assert all(leases.acquire(key) for key in sys.argv[2:])
import os; os._exit(0)
"""


def test_the_leases_of_a_dead_process_are_taken_over_and_its_holder_file_swept(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-c", DIES_HOLDING, str(tmp_path), *KEYS], cwd=ROOT, check=True)
    [dead] = _holders(tmp_path)
    mine = LocalLeases(tmp_path, "requests")
    assert all(mine.acquire(key) for key in KEYS), "its holder is dead: every lease taken over"
    assert dead not in _holders(tmp_path), "the dead process's holder file is swept when ours is made"
    assert all(json.loads(_lease(tmp_path, key).read_text())["pid"] == os.getpid() for key in KEYS)


def test_where_links_cannot_be_made_a_lease_is_a_file_of_its_own(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(src: str, dst: str) -> None:
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(lease_holders.os, "link", refuse)
    mine = LocalLeases(tmp_path, "requests")
    assert mine.acquire(KEYS[0]) and not LocalLeases(tmp_path, "requests").acquire(KEYS[0])
    path = _lease(tmp_path, KEYS[0])
    assert path.stat().st_nlink == 1 and json.loads(path.read_text())["pid"] == os.getpid()
    old = time.time() - leases.STALE_AFTER - 5
    os.utime(path, (old, old))
    with mine._lock:
        held = list(mine._held.items())
    for key, version in mine._renew_together(held):
        mine._renew(key, version)
    assert not LocalLeases._stale(str(path)), "refreshed one by one"
    mine.release(KEYS[0])
    assert not path.exists()
