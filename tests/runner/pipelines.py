"""Pipelines shared by the runner tests and run as scripts by the kill/interrupt tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from synthgen import Pipeline, StepResources
from synthgen.testing.steps import AddColumn, GenerateNumbers, SumAll, batches_run

ROOT = Path(__file__).parents[2]


def chain(cache_dir: str, count: int = 200, delay: float = 0.0, count_dir: str | None = None,
          factor: int = 2, replicas: int = 1) -> Pipeline:
    """generator >> add(a) >> add(b) >> global sum >> add(c)."""
    with Pipeline(name="chain", cache_dir=cache_dir) as p:
        gen = GenerateNumbers(name="gen", count=count, batch_size=20)
        a = AddColumn(name="a", factor=factor, output="a", delay=delay, count_dir=count_dir,
                      resources=StepResources(replicas=replicas), input_batch_size=15)
        b = AddColumn(name="b", source="a", output="b", offset=1, delay=delay, count_dir=count_dir)
        total = SumAll(name="total", count_dir=count_dir, delay=delay)
        c = AddColumn(name="c", source="total", output="c", count_dir=count_dir)
        gen >> a >> b >> total >> c
    return p


def kill_chain_midway(cache_dir: str, counts: Path, runner: str = "local", env: dict[str, str] | None = None) -> int:
    """Run the 200-row chain (step ``a``: 14 batches of 15) in a driver process of its own and kill -9
    it once ``a`` has done 4 batches; return how many ``a`` had done by then."""
    script = ("import sys; from tests.runner.pipelines import chain; "
              "chain(sys.argv[1], count=200, delay=0.1, count_dir=sys.argv[2]).run(runner=sys.argv[3])")
    proc = subprocess.Popen([sys.executable, "-c", script, cache_dir, str(counts), runner], cwd=ROOT,
                            env={**os.environ, **(env or {})})
    deadline = time.monotonic() + 90
    while batches_run(counts, "a") < 4 and time.monotonic() < deadline:
        time.sleep(0.1)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done = batches_run(counts, "a")
    assert 4 <= done < 14, f"the driver was not killed mid-way: step a ran {done} of 14 batches"
    return done


def wait_for_stop_request(cache_dir: str | Path, timeout: float = 60.0) -> None:
    """Return once a run on ``cache_dir`` has taken its first Ctrl+C: its handler leaves the stop
    request in the run folder (``<pipeline folder>/.run/stop``, see synthgen.interrupts). Wait for it
    before a second Ctrl+C: two SIGINTs that arrive before Python runs its handler are handled once."""
    deadline = time.monotonic() + timeout
    while not any(Path(cache_dir).glob("*/*/.run/stop")):
        assert time.monotonic() < deadline, f"no run on {cache_dir} took the Ctrl+C within {timeout:.0f}s"
        time.sleep(0.02)


if __name__ == "__main__":  # used by the kill -9 / Ctrl+C tests: run the chain and print row count
    dist = chain(sys.argv[1], count=int(sys.argv[2]), delay=float(sys.argv[3]), count_dir=sys.argv[4]).run()
    print("ROWS", len(dist["default"]["train"]))
