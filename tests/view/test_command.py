"""``synthgen view`` from the command line: it serves the cache on loopback until Ctrl+C, and says in
one line why it cannot (no cache, a taken port, aiohttp missing)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from synthgen.cli.main import build_parser, main


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "synthgen.cli.main", "view", *args]


@pytest.fixture
def taken_port() -> Iterator[int]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()


def test_it_binds_loopback_on_port_8765_unless_told_otherwise() -> None:
    args = build_parser().parse_args(["view"])
    assert (args.host, args.port, args.open, args.cache_dir) == ("127.0.0.1", 8765, False, None)


def test_it_serves_the_cache_until_ctrl_c(cache: Path) -> None:
    proc = subprocess.Popen(cli("--cache-dir", str(cache), "--port", "0"), stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "SYNTHGEN_DEBUG": ""})
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        assert line.startswith("synthgen view: http://127.0.0.1:") and str(cache) in line
        url = line.split()[2]
        with urllib.request.urlopen(url, timeout=30) as response:
            assert "judged" in response.read().decode()
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0
    finally:
        proc.kill()
        proc.wait()


@pytest.mark.parametrize("problem", ["no cache", "port taken"])
def test_what_stops_it_is_one_line(cache: Path, tmp_path: Path, taken_port: int, problem: str) -> None:
    args = ["--cache-dir", str(tmp_path / "none")] if problem == "no cache" else \
        ["--cache-dir", str(cache), "--port", str(taken_port)]
    done = subprocess.run(cli(*args), capture_output=True, text=True, timeout=60,
                          env={**os.environ, "SYNTHGEN_DEBUG": ""})
    expected = f"no cache at {tmp_path / 'none'}: run a pipeline first" if problem == "no cache" else \
        f"cannot serve on 127.0.0.1:{taken_port} ("
    assert done.returncode == 1 and expected in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_without_aiohttp_it_says_which_extra_to_install(monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "aiohttp" else real(name, *a))
    monkeypatch.delenv("SYNTHGEN_DEBUG", raising=False)
    with pytest.raises(SystemExit) as exited:
        main(["view"])
    assert exited.value.code == 1
    assert "pip install 'synthgen[view]'" in capsys.readouterr().err
