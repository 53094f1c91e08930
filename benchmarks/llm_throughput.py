"""LLM throughput: the request engine through a real pipeline, against the test server and llama.cpp.

    python benchmarks/llm_throughput.py [--rows 5000] [--skip-embedded]

The test server runs in a process of its own, as a real server would (in the benchmark's process it
would take a share of synthgen's CPU and GIL).

1. Test server, 200 ms latency, max_concurrency=64, input_batch_size=50: rows/s through
   ``pipeline.run()`` (and through ``Task.process`` directly) against the ideal 0.9 x 64 / 0.2 = 288.
2. The same with 20% of requests answered 429 (Retry-After 0.1 s): every row completes, none lost,
   none duplicated, no request answered twice.
3. Embedded model: tokens/s through a synthgen pipeline against a plain llama-cpp-python loop.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from synthgen import Pipeline
from synthgen.llms import LlamaCppLLM, OpenAILLM
from synthgen.tasks import TextGeneration

sys.path.insert(0, os.path.dirname(__file__))
from _common import ServerProcess  # noqa: E402

LATENCY = 0.2
CONCURRENCY = 64
BATCH = 50
IDEAL = 0.9 * CONCURRENCY / LATENCY


def rows(n: int) -> list[dict[str, Any]]:
    return [{"id": i, "instruction": f"instruction number {i}"} for i in range(n)]


def through_pipeline(server: ServerProcess, n: int) -> tuple[float, list[dict[str, Any]]]:
    """Rows/s and the output rows of a one-task pipeline run in a fresh cache."""
    with tempfile.TemporaryDirectory() as cache:
        with Pipeline("llm-throughput", cache_dir=cache) as pipeline:
            TextGeneration(name="gen", input_batch_size=BATCH, add_raw_input=False,
                           llm=OpenAILLM(model="bench", base_url=server.base_url, api_key="bench",
                                         max_concurrency=CONCURRENCY, max_retries=10))
        start = time.perf_counter()
        distiset = pipeline.run(dataset=rows(n))
        elapsed = time.perf_counter() - start
        out = [dict(r) for r in next(iter(distiset.values()))["train"]]
    return n / elapsed, out


def through_task(server: ServerProcess, n: int) -> float:
    """Rows/s calling Task.process directly, ``max_batches_in_flight`` batches at once (as the runner does)."""
    task = TextGeneration(name="gen", input_batch_size=BATCH,
                          llm=OpenAILLM(model="bench-direct", base_url=server.base_url, api_key="bench",
                                        max_concurrency=CONCURRENCY))
    batches = [rows(n)[i:i + BATCH] for i in range(0, n, BATCH)]
    task.load()
    try:
        start = time.perf_counter()
        with ThreadPoolExecutor(task.max_batches_in_flight) as pool:
            done = sum(len(b) for out in pool.map(lambda b: list(task.process(b)), batches) for b in out)
        elapsed = time.perf_counter() - start
    finally:
        task.unload()
    assert done == n
    return n / elapsed


def check_complete(out: list[dict[str, Any]], n: int) -> str:
    ids = [r["id"] for r in out]
    lost = n - len(set(ids))
    duplicated = len(ids) - len(set(ids))
    failed = sum(r["generation"] is None for r in out)
    return f"rows={len(out)} lost={lost} duplicated={duplicated} failed={failed}"


def serving_rate(server: ServerProcess, n: int) -> float:
    """Rows/s between the first request and the last answer (excludes worker start-up and shutdown)."""
    c = server.counters
    return n / ((c.last_answer_at or 0) - (c.first_request_at or 0))


async def _bare_sdk(base_url: str, n: int) -> float:
    from openai import AsyncOpenAI

    client = AsyncOpenAI(api_key="bench", base_url=base_url, max_retries=0)
    window = asyncio.Semaphore(CONCURRENCY)

    async def one(i: int) -> None:
        async with window:
            await client.chat.completions.create(model="bare", messages=[{"role": "user", "content": f"instruction number {i}"}])

    start = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(n)))
    rate = n / (time.perf_counter() - start)
    await client.close()
    return rate


async def _bare_aiohttp(base_url: str, n: int) -> float:
    import aiohttp

    window = asyncio.Semaphore(CONCURRENCY)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        async def one(i: int) -> None:
            async with window:
                body = {"model": "bare", "messages": [{"role": "user", "content": f"instruction number {i}"}]}
                async with session.post(f"{base_url}/chat/completions", json=body) as response:
                    await response.read()

        start = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(n)))
        return n / (time.perf_counter() - start)


def bench_server(n: int) -> None:
    with ServerProcess(latency=LATENCY) as server:
        # What a client alone reaches here (64 requests in flight, nothing else): the ceilings.
        print(f"[server 200ms] bare openai SDK, asyncio.Semaphore(64): {asyncio.run(_bare_sdk(server.base_url, n)):7.1f} rows/s")
    with ServerProcess(latency=LATENCY) as server:
        print(f"[server 200ms] bare aiohttp, asyncio.Semaphore(64): {asyncio.run(_bare_aiohttp(server.base_url, n)):7.1f} rows/s")
    with ServerProcess(latency=LATENCY) as server:
        rate, out = through_pipeline(server, n)
        serving = serving_rate(server, n)
        print(f"[server 200ms] pipeline: {rate:7.1f} rows/s end to end (start-up and writing the dataset "
              f"included)  serving phase {serving:7.1f} rows/s (target {IDEAL:.0f}: "
              f"{'met' if serving >= IDEAL else 'NOT met'})  peak in flight {server.counters.max_in_flight}  "
              f"{check_complete(out, n)}")
    with ServerProcess(latency=LATENCY) as server:
        print(f"[server 200ms] Task.process direct: {through_task(server, n):7.1f} rows/s  ideal {IDEAL:.0f}")
    with ServerProcess(latency=LATENCY, rate_429=0.2, retry_after=0.1) as server:
        rate, out = through_pipeline(server, n)
        c = server.counters
        print(f"[server 200ms, 20% 429] pipeline: {rate:7.1f} rows/s  {check_complete(out, n)}  "
              f"429s={c.faults['429']} answered={c.answered} answered-twice={c.duplicates}")


_PLAIN = """
import sys, time
from llama_cpp import Llama
from synthgen.llms.llamacpp import resolve_model_path
llm = Llama(model_path=resolve_model_path(None), n_ctx=2048, verbose=False)  # the embedded SmolLM2
chats = [[{"role": "user", "content": f"Write a sentence about topic {i}."}] for i in range(int(sys.argv[1]))]
tokens = 0
for chat in chats:
    out = llm.create_chat_completion(messages=chat, max_tokens=64, temperature=0.0)
    tokens += out["usage"]["completion_tokens"]
print(tokens)
"""


def bench_embedded(n: int = 60) -> None:
    """Both sides end to end, each loading the model once: the plain loop's process from start to exit,
    synthgen's ``pipeline.run()`` (worker start, model load, generation, writing the dataset)."""
    start = time.perf_counter()
    plain = subprocess.run([sys.executable, "-c", _PLAIN, str(n)], capture_output=True, text=True)
    plain_s = time.perf_counter() - start
    if plain.returncode != 0:
        print(f"[embedded] skipped: the plain llama-cpp-python loop exited with {plain.returncode} "
              "(-11: llama-cpp-python crashes on this machine)")
        return
    data = [{"instruction": f"Write a sentence about topic {i}."} for i in range(n)]
    with tempfile.TemporaryDirectory() as cache:
        with Pipeline("llm-embedded", cache_dir=cache) as pipeline:
            TextGeneration(name="gen", input_batch_size=n,
                           llm=LlamaCppLLM(generation_kwargs={"max_new_tokens": 64, "temperature": 0.0}))
        start = time.perf_counter()
        distiset = pipeline.run(dataset=data)
        elapsed = time.perf_counter() - start
        out = next(iter(distiset.values()))["train"]
        tokens = sum(m["statistics_gen"]["output_tokens"][0] for m in out["synthgen_metadata"])
    ours, theirs = tokens / elapsed, int(plain.stdout.strip().splitlines()[-1]) / plain_s
    print(f"[embedded] synthgen pipeline {ours:.1f} tok/s  plain llama-cpp-python loop {theirs:.1f} tok/s "
          f"(both with start-up and model load)  ratio {ours / theirs:.2f} (target >= 0.9)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--skip-embedded", action="store_true")
    args = parser.parse_args()
    bench_server(args.rows)
    if not args.skip_embedded:
        bench_embedded()


if __name__ == "__main__":
    main()
