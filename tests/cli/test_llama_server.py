"""Judges that parse on open models: the UltraFeedback pipeline over a real OpenAI-compatible server
(llama-cpp-python's ``llama_cpp.server`` running the embedded GGUF), with ``structured_output=auto``."""

from __future__ import annotations

import importlib.util
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.conftest import RunCli


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def llama_server(embedded_model_works: None, tmp_path: Path) -> Iterator[str]:
    """``python -m llama_cpp.server`` on 127.0.0.1 with the embedded model; stopped after the test."""
    if importlib.util.find_spec("llama_cpp.server") is None or importlib.util.find_spec("uvicorn") is None:
        pytest.skip("llama_cpp.server needs llama-cpp-python[server]: pip install 'llama-cpp-python[server]'")
    from synthgen.llms.llamacpp import resolve_model_path

    port = _free_port()
    log = (tmp_path / "server.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "llama_cpp.server", "--model", resolve_model_path(None), "--host",
                             "127.0.0.1", "--port", str(port), "--n_ctx", "2048"], stdout=log, stderr=log)
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        _wait_for(f"{base_url}/models", proc, tmp_path / "server.log")
        yield base_url
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def _wait_for(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"llama_cpp.server exited with {proc.returncode}:\n{log.read_text()[-2000:]}")
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except OSError:
            time.sleep(1)
    pytest.fail(f"llama_cpp.server did not answer {url} within {timeout}s")


@pytest.mark.llamacpp
def test_ultrafeedback_over_llama_cpp_server_parses_every_rating(run_cli: RunCli, llama_server: str) -> None:
    done = run_cli("synthgen", "pipeline=ultrafeedback", "llm=openai_compatible", f"llm.base_url={llama_server}",
                   "llm.model=gemma", "llm.generation_kwargs.max_new_tokens=96", "num_rows=2", timeout=900)
    assert done.returncode == 0, done.stderr
    ratings = next(line for line in done.stdout.splitlines() if line.strip().startswith("ratings:"))
    assert "None" not in ratings, ratings
