"""Runs sharing one cache cooperate: overlapping pipelines started together, one of them killed with
SIGKILL mid-way and started again, pay each distinct request once (plus what the killed run had in
flight) and give the datasets a sequential run gives."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from synthgen.testing.servers.openai import OpenAITestServer
from tests.runner.llm_pipeline import generation, prompts

ROOT = Path(__file__).parents[2]
RUNS, ROWS, OVERLAP_STEP, CONCURRENCY = 4, 120, 60, 8


def start(cache: Path, url: str, i: int) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "tests.runner.llm_pipeline", str(cache), url, str(ROWS),
                             str(CONCURRENCY), f"run{i}", str(i * OVERLAP_STEP)], cwd=ROOT,
                            env={**os.environ, "OPENAI_API_KEY": "k", "SYNTHGEN_LOG_LEVEL": "WARNING"},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_overlapping_runs_with_a_kill_pay_once_and_match_a_sequential_run(tmp_path: Path) -> None:
    dice = random.Random(7)
    with OpenAITestServer(model="m", latency=0.05) as srv:
        procs = [start(tmp_path, srv.base_url, i) for i in range(RUNS)]
        victim = dice.randrange(RUNS)
        deadline = time.monotonic() + 120
        while srv.counters.requests < dice.randint(40, 120) and time.monotonic() < deadline:
            time.sleep(0.01)
        procs[victim].send_signal(signal.SIGKILL)
        procs[victim].wait()
        procs[victim] = start(tmp_path, srv.base_url, victim)
        outputs = [p.communicate(timeout=300) for p in procs]
        assert [p.returncode for p in procs] == [0] * RUNS, [err[-1500:] for _, err in outputs]

        distinct = len({row["instruction"] for i in range(RUNS) for row in prompts(i * OVERLAP_STEP, ROWS)})
        assert srv.counters.answered <= distinct + CONCURRENCY, "at most the killed run's in-flight window twice"
        assert srv.counters.duplicates <= CONCURRENCY
        for i in range(RUNS):
            rows = generation(str(tmp_path), srv.base_url, ROWS, CONCURRENCY, f"run{i}", i * OVERLAP_STEP).run()
            expected = [f"Echo: {row['instruction']}" for row in prompts(i * OVERLAP_STEP, ROWS)]
            assert rows["default"]["train"]["generation"] == expected, f"run{i} differs from a sequential run"
        assert srv.counters.answered <= distinct + CONCURRENCY, "the datasets came from the cache"
