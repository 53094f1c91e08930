"""Helpers for CLI tests: run ``python -m synthgen`` / ``synthgen`` in a subprocess with a private cache."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from synthgen.testing.servers.openai import OpenAITestServer

RunCli = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def run_cli(tmp_path: Path) -> RunCli:
    """``run_cli("module", *args)`` runs ``python -m <module> args`` in tmp_path with a private cache."""
    env = {**os.environ, "SYNTHGEN_CACHE_DIR": str(tmp_path / "cache"), "HYDRA_FULL_ERROR": "",
           "SYNTHGEN_DEBUG": "", "SYNTHGEN_LOG_LEVEL": "WARNING", "OPENAI_API_KEY": "test-key"}
    env.pop("HYDRA_FULL_ERROR")

    def run(module: str, *args: str, timeout: float = 240, **extra_env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", module, *args], cwd=tmp_path, env={**env, **extra_env},
                              capture_output=True, text=True, timeout=timeout, check=False)

    return run


@pytest.fixture
def server() -> Iterator[OpenAITestServer]:
    """An OpenAI-compatible test server on 127.0.0.1, stopped at the end of the test."""
    srv = OpenAITestServer(model="test-model")
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


def server_llm(srv: OpenAITestServer) -> list[str]:
    """Overrides pointing the ``llm`` group at the test server."""
    return ["llm=openai_compatible", f"llm.base_url={srv.base_url}", "llm.model=test-model"]
