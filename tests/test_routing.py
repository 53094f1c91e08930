"""``routing_batch_function`` and ``sample_n_steps``: building routed pipelines (the loop's side is in
tests/runner/test_routing.py)."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from synthgen import Pipeline
from synthgen.errors import PlanError
from synthgen.pipeline import routing_batch_function, sample_n_steps
from synthgen.steps import CombineColumns
from synthgen.testing.steps import AddColumn, GenerateNumbers


def _routed(tmp_path: Path, n: int = 2, seed: int = 0) -> Pipeline:
    with Pipeline(name="r", cache_dir=tmp_path) as p:
        gen = GenerateNumbers(name="gen", count=10)
        adds = [AddColumn(name=f"a{i}", output="x") for i in range(3)]
        gen >> sample_n_steps(n, seed=seed) >> adds >> CombineColumns(name="c", columns=["x"])
    return p


def test_the_router_connects_the_step_to_its_targets(tmp_path: Path) -> None:
    p = _routed(tmp_path)
    assert [("gen", f"a{i}") for i in range(3)] == p.edges[:3]
    assert p.routes["gen"][1] == ["a0", "a1", "a2"]
    assert p.dump()["pipeline"]["routing"] == {"gen": {"to": ["a0", "a1", "a2"], "function": "sample_n_steps",
                                                       "n": 2, "seed": 0}}


def test_the_router_is_part_of_the_signatures(tmp_path: Path) -> None:
    base = _routed(tmp_path)
    assert _routed(tmp_path, seed=1).signature != base.signature
    assert _routed(tmp_path, n=1).aggregated_steps_signature != base.aggregated_steps_signature
    assert _routed(tmp_path).aggregated_steps_signature == base.aggregated_steps_signature


def test_sample_n_steps_is_reproducible_per_batch_and_varies_between_batches() -> None:
    router = sample_n_steps(2)
    steps = ["a", "b", "c"]
    assert router(steps, "batch-1") == router(steps, "batch-1")
    assert len({tuple(sorted(router(steps, f"batch-{i}"))) for i in range(30)}) == 3
    assert all(len(router(steps, f"batch-{i}")) == 2 for i in range(10))


def test_routing_batch_function_works_with_and_without_parentheses() -> None:
    @routing_batch_function
    def first(steps: list[str]) -> list[str]:
        return steps[:1]

    @routing_batch_function(description="the last one")
    def last(steps: list[str]) -> list[str]:
        return steps[-1:]

    assert first(["a", "b"], "k") == ["a"] and last(["a", "b"], "k") == ["b"]
    assert last.identity == {"function": f"{__name__}:{last.choose.function.__qualname__}",  # type: ignore[attr-defined]
                             "description": "the last one"}


def test_a_pipeline_with_a_local_router_still_pickles(tmp_path: Path) -> None:
    @routing_batch_function
    def local(steps: list[str]) -> list[str]:
        return steps

    with Pipeline(name="r", cache_dir=tmp_path) as p:
        gen = GenerateNumbers(name="gen", count=10)
        gen >> local >> [AddColumn(name="a"), AddColumn(name="b")]
    step = pickle.loads(pickle.dumps(p.steps["a"]))  # steps reach their replicas with their pipeline
    assert step.name == "a"


@pytest.mark.parametrize(("build", "message"), [
    (lambda: sample_n_steps(0), r"sample_n_steps\(0\): n must be at least 1"),
])
def test_bad_routers_are_named(build: object, message: str) -> None:
    with pytest.raises(PlanError, match=message):
        build()  # type: ignore[operator]


def test_sample_more_steps_than_there_are_is_named() -> None:
    with pytest.raises(PlanError, match=r"sample_n_steps\(3\) routes to only 2 steps: lower n or add steps"):
        sample_n_steps(3)(["a", "b"], "k")


def test_a_router_is_used_for_one_step_only(tmp_path: Path) -> None:
    router = sample_n_steps(1)
    with Pipeline(name="r", cache_dir=tmp_path):
        a, b = GenerateNumbers(name="a"), GenerateNumbers(name="b")
        a >> router >> [AddColumn(name="x"), AddColumn(name="y")]
        with pytest.raises(PlanError, match="already routes step 'a': make one routing function per step"):
            b >> router


def test_a_routed_step_must_have_only_the_routed_input(tmp_path: Path) -> None:
    with Pipeline(name="r", cache_dir=tmp_path) as p:
        a, b = GenerateNumbers(name="a"), GenerateNumbers(name="b")
        x, y = AddColumn(name="x"), AddColumn(name="y")
        a >> sample_n_steps(1) >> [x, y]
        b >> x
    with pytest.raises(PlanError, match="step 'x' is routed from 'a', so that must be its only input"):
        p.run()


def test_a_step_joining_routed_steps_takes_only_them(tmp_path: Path) -> None:
    with Pipeline(name="r", cache_dir=tmp_path) as p:
        a = GenerateNumbers(name="a")
        x, y, z = AddColumn(name="x"), AddColumn(name="y"), AddColumn(name="z")
        a >> sample_n_steps(1) >> [x, y]
        a >> z
        [x, y, z] >> CombineColumns(name="join", columns=["out"])
    with pytest.raises(PlanError, match="step 'join' joins steps routed from 'a': all of its inputs must be those steps \\(not z\\)"):
        p.run()


@routing_batch_function
def top_level_router(steps: list[str]) -> list[str]:
    return sorted(steps)[:1]


def test_a_saved_routed_pipeline_comes_back_with_its_routing(tmp_path: Path) -> None:
    for router in (sample_n_steps(2, seed=3), top_level_router):
        with Pipeline(name="r", cache_dir=tmp_path) as p:
            gen = GenerateNumbers(name="gen", count=10)
            gen >> router >> [AddColumn(name=f"a{i}", output="x") for i in range(3)]
        p.save(tmp_path / "p.yaml")
        again = Pipeline.from_yaml(tmp_path / "p.yaml")
        assert again.routes["gen"][1] == ["a0", "a1", "a2"]
        assert again.aggregated_steps_signature == p.aggregated_steps_signature
        assert again.routes["gen"][0](["a", "b"], "k") == router(["a", "b"], "k")


def test_a_routing_function_that_cannot_be_imported_is_named(tmp_path: Path) -> None:
    from synthgen.errors import ConfigError

    @routing_batch_function
    def local(steps: list[str]) -> list[str]:
        return steps

    with Pipeline(name="r", cache_dir=tmp_path) as p:
        GenerateNumbers(name="gen") >> local >> [AddColumn(name="a"), AddColumn(name="b")]
    p.save(tmp_path / "p.yaml")
    with pytest.raises(ConfigError, match="routing function '.*local' of step 'gen' cannot be imported: define it at the top level"):
        Pipeline.from_yaml(tmp_path / "p.yaml")
