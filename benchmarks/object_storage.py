"""A cache in object storage against a local cache, in the same run: the LLM throughput pipeline (one
TextGeneration against the OpenAI test server, benchmarks/llm_throughput.py), first fresh (every answer
sent and written to the cache), then rerun by a driver with no local state (every answer read back).

The object store is moto's S3 server in a process of its own on 127.0.0.1 — a Python server on the same
cores as the run, so the ratios are a floor for a real S3 or MinIO, not a forecast.

Run: ``python benchmarks/object_storage.py [rows]`` (default 5,000). Needs the dev extra (moto, s3fs).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))

from _common import ServerProcess, timed  # noqa: E402
from llm_throughput import BATCH, CONCURRENCY, LATENCY, rows  # noqa: E402

from synthgen import Pipeline  # noqa: E402
from synthgen.llms import OpenAILLM  # noqa: E402
from synthgen.tasks import TextGeneration  # noqa: E402

BUCKET = "synthgen-bench"


def llm(server: ServerProcess, n: int, cache: str) -> int:
    with Pipeline("llm-throughput", cache_dir=cache) as p:
        TextGeneration(name="gen", input_batch_size=BATCH, add_raw_input=False,
                       llm=OpenAILLM(model="bench", base_url=server.base_url, api_key="bench",
                                     max_concurrency=CONCURRENCY, max_retries=10))
    return len(p.run(dataset=rows(n))["default"]["train"])


def start_moto() -> subprocess.Popen[bytes]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="us-east-1",
                      AWS_ENDPOINT_URL=f"http://127.0.0.1:{port}")
    import boto3

    deadline = time.monotonic() + 30
    while True:
        try:
            boto3.client("s3").create_bucket(Bucket=BUCKET)
            return proc
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def run_pair(server: ServerProcess, n: int, local: str, remote: str, state: str) -> tuple[float, float]:
    os.environ["SYNTHGEN_STATE_DIR"] = state
    local_s, got = timed(lambda: llm(server, n, local))
    assert got == n
    remote_s, got = timed(lambda: llm(server, n, remote))
    assert got == n
    return local_s, remote_s


def main(n: int) -> None:
    moto = start_moto()
    try:
        with tempfile.TemporaryDirectory() as tmp, ServerProcess(latency=LATENCY) as server:
            print(f"{os.cpu_count()} CPUs, {n:,} rows, latency {LATENCY} s, concurrency {CONCURRENCY}")
            print(f"{'run':<34} {'local rows/s':>13} {'s3 rows/s':>10} {'s3/local time':>14}")
            local, remote = f"{tmp}/local", f"s3://{BUCKET}/cache"
            fresh = run_pair(server, n, local, remote, f"{tmp}/driver-a")
            sent = server.counters.answered
            # another driver: an empty state folder locally, the same bucket (and a fresh local copy)
            import shutil

            shutil.rmtree(f"{local}/llm-throughput")
            again = run_pair(server, n, local, remote, f"{tmp}/driver-b")
            assert server.counters.answered == sent, "a rerun from the cache sent requests"
            for label, (local_s, remote_s) in (("fresh (every answer sent)", fresh),
                                               ("rerun, new driver (all cached)", again)):
                print(f"{label:<34} {n / local_s:>13,.0f} {n / remote_s:>10,.0f} {remote_s / local_s:>14.2f}")
    finally:
        moto.terminate()
        moto.wait()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5_000)
