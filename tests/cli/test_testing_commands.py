"""``synthgen testing serve``: a test server in the foreground that synthgen's backends can call."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from synthgen.llms import AnthropicLLM, OpenAILLM


def ignoring_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def serve(tmp_path: Path, *args: str) -> subprocess.Popen[str]:
    # Started with SIGINT ignored, as a background job of a script (CI, make, `cmd &`) starts it: it must
    # still stop on Ctrl+C (found when `make test` ran in the background: the server never stopped).
    return subprocess.Popen([sys.executable, "-m", "synthgen.cli.main", "testing", "serve", *args],
                            preexec_fn=ignoring_sigint,
                            cwd=tmp_path, env={**os.environ, "SYNTHGEN_DEBUG": "", "PYTHONFAULTHANDLER": "1"}, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def stopped(proc: subprocess.Popen[str], timeout: float = 60) -> tuple[str, str]:
    """The output of a server told to stop; if it does not stop in time, fail with where it hangs (a
    SIGABRT makes the child's faulthandler print every thread's stack)."""
    try:
        return proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGABRT)
        _, err = proc.communicate(timeout=30)
        raise AssertionError(f"the server did not stop within {timeout} s of Ctrl+C; its threads:\n{err[-6000:]}") from None


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_serve_answers_synthgen_until_ctrl_c(tmp_path: Path, provider: str) -> None:
    proc = serve(tmp_path, provider, "--port", "0", "--latency", "0.01")
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        base_url = re.search(r"base_url=(\S+)", first)
        assert base_url, first + proc.stderr.read()  # type: ignore[union-attr]
        cls = OpenAILLM if provider == "openai" else AnthropicLLM
        llm = cls(model="test-model", base_url=base_url.group(1))
        llm.load()
        try:
            assert llm.generate(["hi"], temperature=0.2)[0]["generations"] == ["Echo: hi"]
        finally:
            llm.unload()
        proc.send_signal(signal.SIGINT)
        out, err = stopped(proc)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert "stopped after 1 requests" in out


def test_serve_with_a_fail_rate_out_of_range_is_a_one_line_error(tmp_path: Path) -> None:
    proc = serve(tmp_path, "openai", "--fail-rate", "2")
    _, err = proc.communicate(timeout=60)
    assert proc.returncode != 0
    assert err.strip().splitlines() == ["error: --fail-rate must be within 0..1, --latency at least 0 and --port "
                                        "within 0..65535"]
