"""The Ray executor gives the local runner's rows, order and cache hits, on a local Ray instance."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

ray = pytest.importorskip("ray", reason="ray is not installed: pip install 'synthgen[ray]'")

from synthgen import Pipeline, StepResources  # noqa: E402
from synthgen.errors import StepError  # noqa: E402
from synthgen.llms import OpenAILLM  # noqa: E402
from synthgen.ray import RayPipeline  # noqa: E402
from synthgen.steps.loaders.dicts import LoadDataFromDicts  # noqa: E402
from synthgen.tasks import TextGeneration  # noqa: E402
from synthgen.testing.servers.openai import OpenAITestServer  # noqa: E402
from synthgen.testing.steps import FailOn, GenerateNumbers, batches_run  # noqa: E402

from .pipelines import chain, kill_chain_midway  # noqa: E402

pytestmark = [pytest.mark.ray, pytest.mark.timeout(120)]


@pytest.fixture(scope="module", autouse=True)
def local_ray() -> Iterator[None]:
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        yield
    finally:
        ray.shutdown()


def rows(distiset: Any) -> list[dict[str, Any]]:
    return distiset["default"]["train"].to_list()


def test_cpu_pipeline_gives_local_rows_and_order(tmp_path: Path) -> None:
    local = rows(chain(str(tmp_path / "local"), replicas=2).run())
    on_ray = rows(chain(str(tmp_path / "ray"), replicas=2).run(runner="ray"))
    assert on_ray == local
    assert [r["n"] for r in on_ray] == list(range(200))


def test_finished_on_ray_reruns_from_cache_locally(tmp_path: Path) -> None:
    counts = tmp_path / "counts"
    counts.mkdir()
    first = rows(chain(str(tmp_path), count_dir=str(counts)).run(runner="ray"))
    before = {s: batches_run(counts, s) for s in ("a", "b", "total", "c")}
    assert before["a"] > 0
    assert rows(chain(str(tmp_path), count_dir=str(counts)).run()) == first
    assert {s: batches_run(counts, s) for s in ("a", "b", "total", "c")} == before


def test_finished_locally_reruns_from_cache_on_ray(tmp_path: Path) -> None:
    counts = tmp_path / "counts"
    counts.mkdir()
    first = rows(chain(str(tmp_path), count_dir=str(counts)).run())
    before = {s: batches_run(counts, s) for s in ("a", "b", "total", "c")}
    assert rows(chain(str(tmp_path), count_dir=str(counts)).run(runner="ray")) == first
    assert {s: batches_run(counts, s) for s in ("a", "b", "total", "c")} == before


def test_step_error_raises_step_error(tmp_path: Path) -> None:
    with RayPipeline(name="boom", cache_dir=tmp_path) as p:
        GenerateNumbers(count=100, batch_size=10) >> FailOn(name="explodes", value=42,
                                                            resources=StepResources(replicas=2))
    with pytest.raises(StepError, match="step 'explodes' failed: ValueError: boom at n=42"):
        p.run()


def _llm_pipeline(cache_dir: Path, base_url: str) -> Pipeline:
    with Pipeline(name="llm", cache_dir=cache_dir) as p:
        data = LoadDataFromDicts(data=[{"instruction": f"say {i}"} for i in range(40)], batch_size=10)
        gen = TextGeneration(name="gen", llm=OpenAILLM(model="m", base_url=base_url, api_key="k"),
                             input_batch_size=8, resources=StepResources(replicas=2))
        data >> gen
    return p


def test_llm_pipeline_against_test_server_gives_the_local_runners_output(tmp_path: Path, openai_server: Any) -> None:
    on_ray = rows(_llm_pipeline(tmp_path / "ray", openai_server.base_url).run(runner="ray"))
    local = rows(_llm_pipeline(tmp_path / "local", openai_server.base_url).run())
    assert on_ray == local
    assert [r["instruction"] for r in on_ray] == [f"say {i}" for i in range(40)]
    assert [r["generation"] for r in on_ray] == [f"Echo: say {i}" for i in range(40)]


def test_resume_after_driver_killed(tmp_path: Path) -> None:
    counts = tmp_path / "counts"
    counts.mkdir()
    done_before = kill_chain_midway(str(tmp_path), counts, runner="ray",
                                    env={"RAY_ADDRESS": ray.get_runtime_context().gcs_address})
    out = rows(chain(str(tmp_path), count_dir=str(counts)).run(runner="ray"))
    assert [r["n"] for r in out] == list(range(200))
    assert batches_run(counts, "a") - done_before <= 14 - 4 + 2  # finished batches came from the cache


def test_runner_options_reach_ray_init(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from synthgen.runner import ray_executor
    from synthgen.runner.executors import make_executor
    from synthgen.store import Store

    seen: list[tuple[Any, Any]] = []
    monkeypatch.setattr(ray_executor, "init_ray", lambda address=None, num_cpus=None: seen.append((address, num_cpus)))
    make_executor("ray", Store(tmp_path).location, "INFO", {"address": "head:6379", "num_cpus": None})
    assert seen == [("head:6379", None)]


def test_a_sources_batches_stream_to_downstream_steps(tmp_path: Path) -> None:
    """The source waits after its first batch until the downstream step has processed one: only a
    loop that receives batches while the source still runs can finish this pipeline."""
    from synthgen.testing.steps import AddColumn

    counts = tmp_path / "counts"
    counts.mkdir()
    with Pipeline(name="stream", cache_dir=tmp_path / "cache") as p:
        gen = GenerateNumbers(name="gen", count=100, batch_size=10, wait_for=str(counts / "a"))
        gen >> AddColumn(name="a", output="a", count_dir=str(counts), input_batch_size=10)
    assert [r["a"] for r in rows(p.run(runner="ray"))] == list(range(100))


def test_a_dead_actors_batch_is_retried_on_another_replica(tmp_path: Path) -> None:
    from synthgen.testing.steps import DieOnce

    with Pipeline(name="die", cache_dir=tmp_path / "cache") as p:
        gen = GenerateNumbers(name="gen", count=60, batch_size=10)
        gen >> DieOnce(name="die", value=25, marker=str(tmp_path / "died"), resources=StepResources(replicas=2),
                       input_batch_size=10)
    out = rows(p.run(runner="ray"))
    assert (tmp_path / "died").exists(), "a replica really died"
    assert [r["n"] for r in out] == list(range(60)), "its batch was retried elsewhere: no row lost or repeated"


def test_a_restarted_actor_takes_batches_again(tmp_path: Path) -> None:
    """The only replica dies mid-batch: Ray restarts it, it loads the step again and gets the batch."""
    from synthgen.testing.steps import DieOnce

    with Pipeline(name="revive", cache_dir=tmp_path / "cache") as p:
        gen = GenerateNumbers(name="gen", count=40, batch_size=10)
        gen >> DieOnce(name="die", value=15, marker=str(tmp_path / "died"), input_batch_size=10)
    out = rows(p.run(runner="ray"))
    assert (tmp_path / "died").exists(), "the replica really died"
    assert [r["n"] for r in out] == list(range(40))


def _unavailable() -> None:
    raise ray.exceptions.ActorUnavailableError("the call reached the dead process", None)


class UnavailableWhileRestarting:
    """An actor handle whose second ready call (the one the executor awaits a restart with) Ray answers
    as it does when that call reached the dead process before Ray knew the actor restarts."""

    def __init__(self, handle: Any) -> None:
        self.handle, self.ready_calls = handle, 0

    @property
    def ready(self) -> Any:
        self.ready_calls += 1
        if self.ready_calls == 2:
            return SimpleNamespace(remote=lambda: ray.remote(_unavailable).remote())
        return self.handle.ready

    def __getattr__(self, name: str) -> Any:
        return getattr(self.handle, name)


def test_a_restarting_replica_that_ray_calls_unavailable_is_asked_again(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """'Unavailable' is Ray's word for 'not yet': the replica is asked again, not given up for dead."""
    from synthgen.testing.steps import DieOnce

    handles: list[UnavailableWhileRestarting] = []
    real_remote = ray.remote

    def remote(target: Any) -> Any:  # actor classes make handles that answer as under load
        made = real_remote(target)
        if not isinstance(target, type):
            return made

        def options(**opts: Any) -> Any:
            return SimpleNamespace(remote=lambda *args: handles.append(
                UnavailableWhileRestarting(made.options(**opts).remote(*args))) or handles[-1])
        return SimpleNamespace(options=options)

    monkeypatch.setattr(ray, "remote", remote)
    with Pipeline(name="revive", cache_dir=tmp_path / "cache") as p:
        gen = GenerateNumbers(name="gen", count=40, batch_size=10)
        gen >> DieOnce(name="die", value=15, marker=str(tmp_path / "died"), input_batch_size=10)
    try:
        out = rows(p.run(runner="ray"))
    finally:
        for handle in handles:  # ray.kill takes real handles only
            ray.kill(handle.handle, no_restart=True)
    assert [h.ready_calls for h in handles] == [1, 3], "the dead replica was asked twice after its restart"
    assert [r["n"] for r in out] == list(range(40))


def test_a_tensor_parallel_step_gets_one_gpu_bundle_per_shard(tmp_path: Path) -> None:
    """gpus=2 with tensor_parallel_size=2: a placement group of two one-GPU bundles on one node, the
    replica itself holding none, so that vLLM's Ray workers (one per bundle) each get a GPU. The local
    Ray instance declares two GPUs it does not have: placement is what is checked, not CUDA."""
    import json

    from synthgen.testing.steps import PlacementProbe

    ray.shutdown()
    ray.init(num_cpus=2, num_gpus=2, include_dashboard=False, log_to_driver=False)
    try:
        with Pipeline(name="tp", cache_dir=tmp_path / "cache") as p:
            LoadDataFromDicts(data=[{"x": 1}]) >> PlacementProbe(name="probe", resources=StepResources(gpus=2))
        [row] = rows(p.run(runner="ray"))
    finally:
        ray.shutdown()
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    assert json.loads(row["bundles"]) == [{"GPU": 1}, {"GPU": 1}]
    assert row["own_gpus"] == 0
    assert sorted(json.loads(row["worker_gpus"])) == [["0"], ["1"]]


def test_failed_rows_on_ray_are_marked_and_retried_exactly(tmp_path: Path) -> None:
    from tests.runner.test_failed_rows import generation_pipeline, poisoned
    from tests.runner.test_failed_rows import rows as prompts

    data = prompts(20, poison={2, 11})
    with OpenAITestServer(model="m", fail_fn=poisoned) as srv:
        first = generation_pipeline(tmp_path, srv, data).run(runner="ray")
        assert first.failures["gen"]["count"] == 2
        assert [i for i, g in enumerate(first["default"]["train"]["generation"]) if g is None] == [2, 11]
        srv.fail_fn = None
        sent = srv.counters.requests
        healed = generation_pipeline(tmp_path, srv, data).run(runner="ray")
        assert srv.counters.requests - sent == 2 and healed.failures == {}
