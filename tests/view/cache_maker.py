"""Real caches for the viewer's tests: a generate-then-judge pipeline run against the OpenAI-compatible
test server, where the prompts holding "poison" fail every time (failed rows with their errors)."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from synthgen import Pipeline
from synthgen.llms import OpenAILLM
from synthgen.steps import KeepColumns, LoadDataFromDicts
from synthgen.tasks import TextGeneration
from synthgen.tasks.ultrafeedback import UltraFeedback
from synthgen.testing.replies import shaped_reply
from synthgen.testing.servers.openai import OpenAITestServer

PIPELINE = "judged"
LIVE_ROWS = 40  # the live run: at two requests of 0.25 s at a time, long enough to watch
ROOT = Path(__file__).parents[2]
POISONED = {3, 11}


def poisoned(body: dict[str, Any]) -> int | None:
    """The server refuses, every time, the prompts that contain 'poison'."""
    return 500 if "poison" in str(body.get("messages", "")) else None


def start_server(latency: float = 0.0) -> OpenAITestServer:
    """A test server answering like real models (rated sections for the judge) and failing poison."""
    return OpenAITestServer(model="gpt-4o-mini", reply_fn=shaped_reply, fail_fn=poisoned, latency=latency).start()


def instructions(n: int) -> list[dict[str, Any]]:
    return [{"instruction": f"Explain topic number {i} in two sentences" + (" poison" if i in POISONED else ""),
             "messages": [{"role": "system", "content": "You are terse."},
                          {"role": "user", "content": f"Tell me about topic {i}"}]}
            for i in range(n)]


def judged_pipeline(cache: Path, base_url: str, rows: int = 20, batch_size: int = 5,
                    max_concurrency: int = 64) -> Pipeline:
    """load -> generate (two answers per instruction) -> judge (UltraFeedback) -> rated."""
    def llm() -> OpenAILLM:
        return OpenAILLM(model="gpt-4o-mini", base_url=base_url, api_key="test", max_retries=0,
                         max_concurrency=max_concurrency)

    with Pipeline(name=PIPELINE, cache_dir=cache) as p:
        load = LoadDataFromDicts(name="load", data=instructions(rows), batch_size=batch_size)
        generate = TextGeneration(name="generate", llm=llm(), num_generations=2, group_generations=True,
                                  input_batch_size=batch_size, output_mappings={"generation": "generations"})
        judge = UltraFeedback(name="judge", llm=llm(), aspect="overall-rating", input_batch_size=batch_size)
        rated = KeepColumns(name="rated", columns=["instruction", "messages", "generations", "ratings",
                                                   "rationales", "model_name", "synthgen_metadata"])
        load >> generate >> judge >> rated
    return p


def make_cache(cache: Path, rows: int = 20) -> Path:
    """Run the judged pipeline once into ``cache`` (some rows fail); returns the cache root."""
    server = start_server()
    try:
        judged_pipeline(cache, server.base_url, rows).run(max_failed_fraction=1.0)
    finally:
        server.stop()
    return cache


@contextmanager
def background_run(cache: Path, rows: int = LIVE_ROWS) -> Iterator[Path]:
    """A run in another process against a slow server (two requests at a time): yields its pipeline
    folder once the run holds it, and checks, at the end, that the run succeeded."""
    server = start_server(latency=0.25)
    run = subprocess.Popen([sys.executable, "-m", "tests.view.cache_maker", str(cache), server.base_url,
                            str(rows), "2", "2"], cwd=ROOT)
    try:
        yield _wait_for_folder(cache / PIPELINE, run)
    finally:
        code = run.wait(timeout=300)
        server.stop()
    assert code == 0, f"the background run failed (exit code {code})"


def _wait_for_folder(parent: Path, run: subprocess.Popen[bytes]) -> Path:
    """The pipeline's folder once its run has started (the run writes pipeline.yaml then)."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and run.poll() is None:
        found = list(parent.glob("*/pipeline.yaml")) if parent.is_dir() else []
        if found:
            return found[0].parent
        time.sleep(0.2)
    raise AssertionError(f"the background run never started (exit code {run.poll()})")


def main(argv: list[str] | None = None) -> None:
    """``python -m tests.view.cache_maker CACHE BASE_URL ROWS BATCH_SIZE CONCURRENCY``: one run against
    a server that is already up (the live-update test watches it from another process)."""
    cache, base_url, rows, batch_size, concurrency = argv or sys.argv[1:]
    judged_pipeline(Path(cache), base_url, int(rows), int(batch_size), int(concurrency)).run(max_failed_fraction=1.0)


if __name__ == "__main__":
    main()
