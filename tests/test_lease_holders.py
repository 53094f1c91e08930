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

import psutil
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
    assert json.loads(_lease(tmp_path, KEYS[0]).read_text()) == lease_holders.this_process(leases.HOST)
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


def _dead_pid() -> int:
    return int(subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                              text=True, check=True).stdout)


def test_a_holder_is_looked_up_by_pid_start_time_and_pid_namespace() -> None:
    """A reused pid does not keep a dead run's lease alive, a killed process not yet reaped holds
    nothing, and a container that shares this host's name (host networking) has pids that are not ours
    to look up: its leases are judged by their age only."""
    me = lease_holders.this_process(leases.HOST)
    assert me["pid"] == os.getpid() and me["pidns"] == lease_holders.PID_NAMESPACE
    assert not lease_holders.process_gone(me, leases.HOST)
    assert lease_holders.process_gone({**me, "started": me["started"] - 100}, leases.HOST), "its pid taken since"
    gone = {**me, "pid": _dead_pid()}
    assert lease_holders.process_gone(gone, leases.HOST)
    assert lease_holders.process_gone({"host": leases.HOST, "pid": gone["pid"]}, leases.HOST), "an older synthgen's"
    assert not lease_holders.process_gone({**gone, "pidns": "pid:[1]"}, leases.HOST), "another PID namespace"
    assert not lease_holders.process_gone({**gone, "host": "gpu-node-7"}, leases.HOST), "another host"
    zombie = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline = time.monotonic() + 30
    while psutil.Process(zombie.pid).status() != psutil.STATUS_ZOMBIE and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        assert lease_holders.process_gone({"host": leases.HOST, "pid": zombie.pid}, leases.HOST), "killed, not reaped"
    finally:
        zombie.wait()


def test_a_lease_from_another_pid_namespace_is_taken_over_only_when_stale(tmp_path: Path) -> None:
    path = _lease(tmp_path, KEYS[0])
    path.parent.mkdir(parents=True)
    holder = {**lease_holders.this_process(leases.HOST), "pid": _dead_pid(), "pidns": "pid:[1]"}
    path.write_text(json.dumps(holder))
    mine = LocalLeases(tmp_path, "requests")
    assert not mine.acquire(KEYS[0]) and mine.held_elsewhere(KEYS[0]), "its pid means nothing here: fresh, so held"
    old = time.time() - leases.STALE_AFTER - 5
    os.utime(path, (old, old))
    assert mine.acquire(KEYS[0]), "not refreshed for STALE_AFTER: taken over"
