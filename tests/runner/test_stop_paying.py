"""The first Ctrl+C stops paying: no new request anywhere, in-flight ones finish and are cached."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from synthgen.testing.servers.openai import OpenAITestServer
from tests.runner.llm_pipeline import generation

ROOT = Path(__file__).parents[2]


def test_first_ctrl_c_sends_at_most_the_concurrency_then_the_rerun_completes(tmp_path: Path) -> None:
    with OpenAITestServer(model="m", latency=0.05) as srv:
        proc = subprocess.Popen([sys.executable, "-m", "tests.runner.llm_pipeline", str(tmp_path), srv.base_url,
                                 "2000", "16"], cwd=ROOT, env={**os.environ, "OPENAI_API_KEY": "k"},
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 120
        while srv.counters.requests < 200 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.01)
        at_signal = srv.counters.requests
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
        after = srv.counters.requests - at_signal
        assert proc.returncode != 0 and "Run the same pipeline again to resume" in err, err[-2000:]
        assert at_signal < 2000 and after <= 16, f"{after} requests were sent after the first Ctrl+C"

        rows = generation(str(tmp_path), srv.base_url, 2000, 16).run()["default"]["train"]
        assert len(rows) == 2000 and None not in rows["generation"], "no row lost"
        assert srv.counters.duplicates == 0 and srv.counters.answered == 2000, "no request paid twice"
