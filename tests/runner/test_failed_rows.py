"""Failed rows: kept and marked, counted, never cached as finished, retried exactly on rerun."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from synthgen import Pipeline, step
from synthgen.errors import RowsFailed, StepError
from synthgen.llms import OpenAILLM
from synthgen.runner.cache_commands import explain
from synthgen.steps import LoadDataFromDicts
from synthgen.steps.base import StepInput
from synthgen.tasks import TextGeneration
from synthgen.testing.servers.openai import OpenAITestServer


def poisoned(body: dict[str, Any]) -> int | None:
    """The server refuses, every time, the prompts that contain 'poison'."""
    return 500 if "poison" in str(body.get("messages", "")) else None


@pytest.fixture
def server() -> Iterator[OpenAITestServer]:
    srv = OpenAITestServer(model="m", fail_fn=poisoned).start()
    try:
        yield srv
    finally:
        srv.stop()


def rows(n: int, poison: set[int]) -> list[dict[str, Any]]:
    return [{"instruction": f"question {i}" + (" poison" if i in poison else "")} for i in range(n)]


def generation_pipeline(cache: Path, srv: OpenAITestServer, data: list[dict[str, Any]], **llm: Any) -> Pipeline:
    with Pipeline(name="failing", cache_dir=cache) as p:
        load = LoadDataFromDicts(name="load", data=data, batch_size=10)
        gen = TextGeneration(name="gen", input_batch_size=10, llm=OpenAILLM(
            model="m", base_url=srv.base_url, max_retries=llm.pop("max_retries", 1), **llm))
        load >> gen
    return p


def test_failed_rows_are_kept_marked_counted_and_retried_exactly(tmp_path: Path, server: OpenAITestServer) -> None:
    data = rows(30, poison={3, 14, 27})
    distiset = generation_pipeline(tmp_path, server, data).run()
    table = distiset["default"]["train"]
    assert len(table) == 30, "a failed row stays in the dataset"
    failed = [i for i, g in enumerate(table["generation"]) if g is None]
    assert failed == [3, 14, 27]
    assert "HTTP 500" in table["synthgen_metadata"][3]["error_gen"]
    assert distiset.failures["gen"]["count"] == 3 and distiset.failures["gen"]["rows"] == 30
    assert [e["row"] for e in distiset.failures["gen"]["examples"]] == [3, 14, 27]
    assert "## Failed rows" in distiset.dataset_card() and "| gen | 3 | 30 |" in distiset.dataset_card()
    assert "3 failed row(s)" in explain("failing", str(tmp_path)) and "row 14: HTTP 500" in explain("failing", str(tmp_path))

    server.fail_fn = None  # the server is healthy again
    before = server.counters.requests
    again = generation_pipeline(tmp_path, server, data).run()
    assert server.counters.requests - before == 3, "only the failed rows are sent again"
    assert None not in again["default"]["train"]["generation"] and again.failures == {}
    assert server.counters.duplicates == 0


def test_no_retry_failed_keeps_the_failures_and_sends_nothing(tmp_path: Path, server: OpenAITestServer) -> None:
    data = rows(10, poison={4})
    generation_pipeline(tmp_path, server, data).run()
    server.fail_fn = None
    before = server.counters.requests
    kept = generation_pipeline(tmp_path, server, data).run(retry_failed=False)
    assert server.counters.requests == before
    assert kept.failures["gen"]["count"] == 1 and kept["default"]["train"]["generation"][4] is None


def test_a_run_where_everything_failed_is_an_error_at_any_size(tmp_path: Path, server: OpenAITestServer) -> None:
    data = rows(3, poison={0, 1, 2})
    with pytest.raises(RowsFailed, match=r"3 of 3 rows failed in step 'gen'.*max_failed_fraction=0.5") as info:
        generation_pipeline(tmp_path, server, data, max_retries=0).run()
    assert len(info.value.distiset["default"]["train"]) == 3, "the error carries the written dataset"


def test_max_failed_fraction_zero_is_strict(tmp_path: Path, server: OpenAITestServer) -> None:
    with pytest.raises(RowsFailed, match="1 of 10 rows"):
        generation_pipeline(tmp_path, server, rows(10, poison={9})).run(max_failed_fraction=0)


def test_a_failing_server_stops_the_run_within_twice_the_concurrency(tmp_path: Path) -> None:
    with OpenAITestServer(model="m", rate_500=1.0) as srv:
        pipeline = generation_pipeline(tmp_path, srv, rows(300, poison=set()), max_concurrency=16, max_retries=6)
        with pytest.raises(StepError, match="circuit breaker"):
            pipeline.run()
        assert srv.counters.requests <= 32


def test_eight_rows_against_a_dead_server_stop_at_once(tmp_path: Path) -> None:
    with OpenAITestServer(model="m") as srv:
        dead = srv.base_url
    pipeline = generation_pipeline(tmp_path, OpenAITestServer(), rows(8, poison=set()))
    pipeline.steps["gen"].llm.base_url = dead  # type: ignore[attr-defined]
    with pytest.raises(StepError, match=r"circuit breaker.*Last error: .*Connect"):
        pipeline.run()


def test_a_server_capping_concurrency_gets_every_row_answered_once(tmp_path: Path) -> None:
    with OpenAITestServer(model="m", max_in_flight=8, retry_after=0.1, latency=0.02) as srv:
        distiset = generation_pipeline(tmp_path, srv, rows(300, poison=set()), max_concurrency=64).run()
        assert None not in distiset["default"]["train"]["generation"]
        assert srv.counters.faults["429"] > 0, "the cap was reached, so the test tests something"
        assert srv.counters.answered == 300 and srv.counters.duplicates == 0


@step(inputs=["instruction"], outputs=["length", "words"])
def HalfDone(inputs: StepInput) -> Iterator[list[dict[str, Any]]]:
    yield [{**row, "length": len(row["instruction"])} for row in inputs]  # forgets "words"


@step(inputs=["instruction"], outputs=["length"])
def NotRows(inputs: StepInput) -> Iterator[list[Any]]:
    yield [len(row["instruction"]) for row in inputs]


def test_a_declared_output_missing_makes_failed_rows_naming_step_and_column(tmp_path: Path) -> None:
    with Pipeline(name="contract", cache_dir=tmp_path) as p:
        LoadDataFromDicts(name="load", data=[{"instruction": "abc"}] * 4) >> HalfDone(name="half")
    distiset = p.run(max_failed_fraction=1)
    assert distiset.failures["half"]["count"] == 4
    error = distiset.failures["half"]["examples"][0]["error"]
    assert "step 'half' did not produce its declared output column(s) 'words'" in error
    assert distiset["default"]["train"]["words"] == [None] * 4


def test_a_step_yielding_non_dict_rows_fails_in_one_line(tmp_path: Path) -> None:
    with Pipeline(name="notrows", cache_dir=tmp_path) as p:
        LoadDataFromDicts(name="load", data=[{"instruction": "abc"}]) >> NotRows(name="lengths")
    with pytest.raises(StepError, match=r"step 'lengths' failed: process\(\) yielded a int \(3\) where a row") as info:
        p.run()
    assert "\n" not in str(info.value)


def test_summary_counts_add_up(tmp_path: Path, server: OpenAITestServer) -> None:
    from synthgen.runner.failures import summary_lines

    data = rows(8, poison={5})
    generation_pipeline(tmp_path, server, data).run()
    from synthgen.runner.journal import Journal

    pdir = next(d for d in (tmp_path / "failing").iterdir() if d.is_dir())
    lines = summary_lines(Journal(pdir).read()["steps"])
    assert "load: 8 rows in 1 batches: 0 from cache, 8 computed, 0 failed" in lines
    [gen] = [line for line in lines if line.startswith("gen: ")]
    assert gen.startswith("gen: 8 rows in 1 batches: 0 from cache, 8 computed, 1 failed; LLM requests: ")
    assert "1 retries" in gen, "the refused row was tried twice (max_retries=1)"


def test_pipeline_info_says_the_failed_rows_will_be_retried(tmp_path: Path, server: OpenAITestServer) -> None:
    from synthgen.runner.cache_commands import step_status

    pipeline = generation_pipeline(tmp_path, server, rows(10, poison={2}))
    pipeline.run()
    status = step_status(generation_pipeline(tmp_path, server, rows(10, poison={2})), str(tmp_path))
    assert status["gen"].startswith("cached: 10 rows, 1 of them failed: the next run retries")
    assert status["load"] == "cached: 10 rows"
