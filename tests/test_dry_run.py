"""``Pipeline.dry_run``: one batch through every step; the real pipeline is not finished by it."""

from __future__ import annotations

from pathlib import Path

import pytest

from synthgen import Pipeline
from synthgen.errors import ConfigError
from synthgen.llms import OpenAILLM
from synthgen.steps import LoadDataFromDicts
from synthgen.tasks import TextGeneration
from synthgen.testing.servers.openai import OpenAITestServer
from synthgen.testing.steps import AddColumn, GenerateNumbers, SumAll


def _numbers(cache: Path) -> Pipeline:
    with Pipeline(name="numbers", cache_dir=cache) as p:
        GenerateNumbers(name="gen", count=100, batch_size=20) >> AddColumn(name="add", factor=2, output="a") \
            >> SumAll(name="total")
    return p


def _rows(distiset) -> list[dict]:  # type: ignore[no-untyped-def]
    return distiset["default"]["train"].to_list()


def test_a_dry_run_sends_batch_size_rows_through_every_step(tmp_path: Path) -> None:
    p = _numbers(tmp_path)
    assert [r["n"] for r in _rows(p.dry_run())] == [0]
    rows = _rows(p.dry_run(batch_size=3))
    assert [r["a"] for r in rows] == [0, 2, 4]
    assert all(r["total"] == 0 + 1 + 2 for r in rows)  # the global step saw the three rows, and only them


def test_after_a_dry_run_the_real_run_computes_every_row(tmp_path: Path) -> None:
    p = _numbers(tmp_path)
    p.dry_run(batch_size=5)
    rows = _rows(p.run())
    assert len(rows) == 100 and rows[-1]["a"] == 198
    assert p.steps["gen"].batch_size == 20  # type: ignore[attr-defined]  # the dry run changed nothing


def test_a_dry_run_takes_runtime_parameters_and_a_dataset(tmp_path: Path) -> None:
    with Pipeline(name="dry-dataset", cache_dir=tmp_path) as p:
        AddColumn(name="add", factor=3)
    rows = _rows(p.dry_run(dataset=[{"n": i} for i in range(10)], batch_size=2,
                           parameters={"add": {"input_batch_size": 7}}))
    assert [r["out"] for r in rows] == [0, 3]
    assert p.steps["add"].input_batch_size == 7  # type: ignore[attr-defined]


def test_the_real_run_pays_no_request_the_dry_run_paid(tmp_path: Path) -> None:
    with OpenAITestServer() as server:
        with Pipeline(name="dry-llm", cache_dir=tmp_path) as p:
            LoadDataFromDicts(data=[{"instruction": f"q{i}"} for i in range(6)]) \
                >> TextGeneration(name="gen", llm=OpenAILLM(model="m", base_url=server.base_url, api_key="k"))
        assert len(_rows(p.dry_run(batch_size=2))) == 2
        assert server.counters.answered == 2
        assert len(_rows(p.run())) == 6
        assert server.counters.answered == 6 and server.counters.duplicates == 0


def test_a_dry_run_checks_the_plan_first(tmp_path: Path) -> None:
    p = _numbers(tmp_path)
    with pytest.raises(ConfigError, match="unknown runtime parameter"):
        p.dry_run(parameters={"add": {"nope": 1}})
