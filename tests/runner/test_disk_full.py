"""A full disk: one line that says what to do, and no answer that had arrived is paid for again."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from synthgen.errors import CacheError
from synthgen.llms.rescue import import_rescued, rescue_answer
from synthgen.store import Store
from synthgen.testing.servers.openai import OpenAITestServer
from synthgen.write_errors import write_error
from tests.runner.llm_pipeline import generation

ROOT = Path(__file__).parents[2]


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 1 MB tmpfs (root only): the real ENOSPC, from the kernel."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1M", "tmpfs", str(disk)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {mounted.stderr.decode().strip()}")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def test_disk_full_is_one_line_and_the_resume_pays_nothing_twice(small_disk: Path, tmp_path: Path) -> None:
    env = {**os.environ, "OPENAI_API_KEY": "k", "SYNTHGEN_RESCUE_DIR": str(tmp_path / "rescue")}
    with OpenAITestServer(model="m", reply_fn=lambda body: "answer " * 1500) as srv:
        full = subprocess.run([sys.executable, "-m", "tests.runner.llm_pipeline", str(small_disk), srv.base_url,
                               "128", "16"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
        assert full.returncode != 0
        last = full.stderr.strip().splitlines()[-1]
        assert "No space left on device" in last and "SYNTHGEN_CACHE_DIR" in last and "synthgen cache gc" in last, \
            full.stderr[-3000:]
        assert "[Errno 28]" not in full.stderr, "no raw OSError from a worker or the journal"
        assert full.stderr.count("kept in") == 1, "the rescue is said once, not once per answer"
        received = srv.counters.answered
        assert 0 < received < 128 + 16, "the disk filled up mid-run"

        subprocess.run(["mount", "-o", "remount,size=64M", str(small_disk)], check=True)
        os.environ["SYNTHGEN_RESCUE_DIR"] = env["SYNTHGEN_RESCUE_DIR"]
        try:
            rows = generation(str(small_disk), srv.base_url, 128, 16).run()["default"]["train"]
        finally:
            del os.environ["SYNTHGEN_RESCUE_DIR"]
        assert len(rows) == 128 and None not in rows["generation"]
        assert srv.counters.duplicates == 0, "an answer that had arrived was paid for again"


def test_write_error_names_the_path_the_space_and_the_fix(tmp_path: Path) -> None:
    error = write_error(OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "objects")), tmp_path,
                        "the batch's rows", needed=5_000_000)
    assert isinstance(error, CacheError) and "\n" not in str(error)
    assert "the batch's rows" in str(error) and str(tmp_path / "objects") in str(error)
    assert "free there; this write needed about 5.0 MB" in str(error) and "SYNTHGEN_CACHE_DIR" in str(error)
    denied = write_error(OSError(errno.EACCES, "Permission denied", "/x"), tmp_path, "the journal")
    assert "writable by this user" in str(denied)


def test_rescued_answers_go_into_the_next_runs_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNTHGEN_RESCUE_DIR", str(tmp_path / "rescue"))
    record = {"text": "paid for", "input_tokens": 3, "output_tokens": 2}
    assert rescue_answer("ab" * 20, record, OSError(errno.ENOSPC, "No space left on device"))
    store = Store(tmp_path / "cache")
    assert import_rescued(store) == 1
    assert store.get_record("requests", "ab" * 20)["text"] == "paid for"
    assert not list((tmp_path / "rescue").glob("*.json")), "a moved answer leaves the rescue folder"


def test_a_rescue_folder_others_can_write_is_not_trusted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "rescue"
    folder.mkdir(mode=0o777)
    folder.chmod(0o777)
    (folder / f"{'cd' * 20}.json").write_text('{"key": "' + "cd" * 20 + '", "record": {"text": "planted"}}')
    monkeypatch.setenv("SYNTHGEN_RESCUE_DIR", str(folder))
    assert import_rescued(Store(tmp_path / "cache")) == 0
