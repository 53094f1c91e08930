"""Routed pipelines in the scheduling loop: each batch goes to the steps its routing function chose,
the decision is part of the batch keys, reruns and resumed runs route the same way, and a changed
routed step costs only its own batches."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from synthgen import Pipeline
from synthgen.pipeline import routing_batch_function
from synthgen.steps import CombineColumns
from synthgen.testing.steps import AddColumn, GenerateNumbers, SumAll, batches_run

from .routed_pipeline import COUNT, log_path, routed, routes_of

ROOT = str(Path(__file__).parents[2])


def _rows(p: Pipeline) -> list[dict]:
    return p.run()["default"]["train"].to_list()


def test_each_batch_goes_to_two_of_three_steps_and_joins_by_position(tmp_path: Path) -> None:
    rows = _rows(routed(str(tmp_path)))
    assert [r["n"] for r in rows] == list(range(COUNT))
    assert all(len(r["xs"]) == 2 for r in rows)
    assert all(x in (r["n"], 10 * r["n"], 100 * r["n"]) for r in rows for x in r["xs"])
    assert len(set(routes_of(rows))) > 1  # not every batch took the same two steps


def test_a_seeded_router_routes_the_same_way_in_a_fresh_cache(tmp_path: Path) -> None:
    assert _rows(routed(str(tmp_path / "one"))) == _rows(routed(str(tmp_path / "two")))


def test_a_routed_step_that_changes_reruns_only_its_batches(tmp_path: Path) -> None:
    counts = tmp_path / "counts"
    counts.mkdir()
    before = _rows(routed(str(tmp_path), str(counts)))
    ran = {name: batches_run(counts, name) for name in ("add1", "add10", "add100")}
    after = _rows(routed(str(tmp_path), str(counts), factors=(1, 11, 100)))
    routes = routes_of(before)
    assert routes_of(after) == routes  # the routing does not depend on the steps after it
    assert batches_run(counts, "add1") == ran["add1"] and batches_run(counts, "add100") == ran["add100"]
    assert batches_run(counts, "add10") == 2 * ran["add10"]
    for i, (old, new) in enumerate(zip(before, after, strict=True)):
        if "add10" not in routes[i // 5].split():
            assert new == old  # rows that never went through add10 come back unchanged
    assert sum("add10" in r.split() for r in routes) < len(routes)  # so some rows were checked above


def test_a_random_router_is_asked_once_per_batch_across_reruns(tmp_path: Path) -> None:
    counts = tmp_path / "counts"
    counts.mkdir()
    first = _rows(routed(str(tmp_path), str(counts), router="random"))
    decisions = log_path(str(counts)).read_text().split("\n")[:-1]
    assert routes_of(first) == decisions
    again = routed(str(tmp_path), str(counts), router="random")
    again.steps["combine"].use_cache = False  # recompute the join: the routing must come from the records
    assert _rows(again) == first
    assert len(log_path(str(counts)).read_text().splitlines()) == COUNT // 5


def test_a_routed_pipeline_resumes_after_kill_9_with_the_same_routing(tmp_path: Path) -> None:
    cache, counts = tmp_path / "cache", tmp_path / "counts"
    counts.mkdir()
    path = os.pathsep.join(p for p in (os.environ.get("PYTHONPATH"), ROOT) if p)  # a src/ given first stays first
    env = {**os.environ, "PYTHONPATH": path, "SYNTHGEN_LOG_LEVEL": "WARNING"}
    code = "import sys; from tests.runner.routed_pipeline import main; main(sys.argv[1:])"
    proc = subprocess.Popen([sys.executable, "-c", code, str(cache), str(counts), "random", "0.05"], cwd=ROOT, env=env)
    deadline = time.monotonic() + 120
    while sum(batches_run(counts, f"add{f}") for f in (1, 10, 100)) < 12 and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.kill()
    proc.wait(30)
    done_before = {f: batches_run(counts, f"add{f}") for f in (1, 10, 100)}
    # 20 batches of 5 rows, each to 2 steps that take 2 rows at a time: 120 batches in all
    assert 12 <= sum(done_before.values()) < 120, "the run was not killed mid-way"
    recorded = len(list((cache / "routes").rglob("*.json")))
    logged = log_path(str(counts)).read_text().splitlines()
    assert 0 < recorded <= len(logged)

    rows = _rows(routed(str(cache), str(counts), router="random", delay=0.0))
    assert [r["n"] for r in rows] == list(range(COUNT)) and all(len(r["xs"]) == 2 for r in rows)  # 0 rows lost
    # the batches routed before the kill went where the first run sent them; the rest were asked anew
    resumed = log_path(str(counts)).read_text().splitlines()[len(logged):]
    assert routes_of(rows) == logged[:recorded] + resumed
    assert len(list((cache / "routes").rglob("*.json"))) == COUNT // 5


def test_a_global_step_after_routed_steps_gets_all_their_rows(tmp_path: Path) -> None:
    @routing_batch_function
    def first_only(steps: list[str]) -> list[str]:
        return sorted(steps)[:1]

    with Pipeline(name="routed-global", cache_dir=tmp_path) as p:
        gen = GenerateNumbers(name="gen", count=20, batch_size=5)
        a, b = AddColumn(name="a", output="x"), AddColumn(name="b", output="y")
        gen >> first_only >> [a, b] >> SumAll(name="total")
    rows = _rows(p)
    assert len(rows) == 20 and all(r["total"] == sum(range(20)) for r in rows)
    assert all("x" in r and "y" not in r for r in rows)


def test_a_router_that_returns_an_unknown_step_is_named(tmp_path: Path) -> None:
    import pytest

    from synthgen.errors import PlanError

    @routing_batch_function
    def wrong(steps: list[str]) -> list[str]:
        return ["nope"]

    with Pipeline(name="routed-wrong", cache_dir=tmp_path) as p:
        GenerateNumbers(name="gen", count=5) >> wrong >> [AddColumn(name="a"), AddColumn(name="b")] \
            >> CombineColumns(columns=["out"])
    with pytest.raises(PlanError, match=r"returned \['nope'\]: it must return a list of the names it was given \(a, b\)"):
        p.run()


def test_the_routing_records_are_shared_cache_data_not_a_pipeline(tmp_path: Path) -> None:
    from synthgen.runner.cache_commands import gc, ls

    rows = _rows(routed(str(tmp_path)))
    assert (tmp_path / "routes").is_dir()
    assert "routes" not in ls(tmp_path).split()
    gc(tmp_path)
    assert _rows(routed(str(tmp_path))) == rows
