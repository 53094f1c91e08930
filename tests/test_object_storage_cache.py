"""A cache root in object storage (S3 on a local moto server): the shared part — objects, batch records,
paid answers, the run folder — lives in the bucket and the pipeline folders on the driver, so runs from
any driver, local or on Ray, hit the same cache."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("moto", reason="moto is not installed: pip install -e '.[dev]'")
pytest.importorskip("s3fs", reason="s3fs is not installed: pip install 'synthgen[s3]'")

from synthgen import Pipeline, StepResources, interrupts  # noqa: E402
from synthgen.errors import CacheError  # noqa: E402
from synthgen.llms import OpenAILLM  # noqa: E402
from synthgen.llms.spend import Spend  # noqa: E402
from synthgen.runner import cache_commands, lease  # noqa: E402
from synthgen.steps.loaders.dicts import LoadDataFromDicts  # noqa: E402
from synthgen.store import CorruptObject, Store  # noqa: E402
from synthgen.tasks import TextGeneration  # noqa: E402
from synthgen.testing.s3 import S3TestServer  # noqa: E402
from synthgen.testing.steps import batches_run  # noqa: E402

from .runner.pipelines import chain, kill_chain_midway  # noqa: E402

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
def s3() -> Iterator[S3TestServer]:
    with S3TestServer() as server:
        yield server


@pytest.fixture
def bucket_cache(s3: S3TestServer, request: pytest.FixtureRequest, tmp_path: Path,
                 monkeypatch: pytest.MonkeyPatch) -> str:
    """A prefix of its own per test; the driver's state in this test's folder."""
    monkeypatch.setenv("SYNTHGEN_STATE_DIR", str(tmp_path / "driver-a"))
    return s3.url(f"{request.node.name}/cache")


def prefix_of(url: str) -> str:
    return url.split("/", 3)[3]


def rows(distiset: Any) -> list[dict[str, Any]]:
    return distiset["default"]["train"].to_list()


def _llm_pipeline(cache_dir: str | Path, base_url: str, replicas: int = 1) -> Pipeline:
    with Pipeline(name="llm", cache_dir=cache_dir) as p:
        data = LoadDataFromDicts(data=[{"instruction": f"say {i}"} for i in range(30)], batch_size=10)
        gen = TextGeneration(name="gen", llm=OpenAILLM(model="m", base_url=base_url, api_key="k"),
                             input_batch_size=8, resources=StepResources(replicas=replicas))
        data >> gen
    return p


def test_a_run_on_s3_gives_the_local_rows_with_objects_in_the_bucket_and_journal_on_the_driver(
        s3: S3TestServer, bucket_cache: str, tmp_path: Path) -> None:
    on_s3 = rows(chain(bucket_cache, replicas=2).run())
    assert on_s3 == rows(chain(str(tmp_path / "local"), replicas=2).run())
    keys = s3.keys(prefix_of(bucket_cache))
    assert any("/objects/" in k for k in keys) and any("/batches/" in k for k in keys)
    pdirs = list((tmp_path / "driver-a" / "s3").rglob("pipeline.yaml"))
    assert len(pdirs) == 1 and (pdirs[0].parent / "data").is_dir()
    mapped = pdirs[0].parent / "arrow"  # the leaves' rows the returned Distiset maps, beside data/
    assert list(mapped.rglob("*.arrow"))
    kept = [p for p in (tmp_path / "driver-a").rglob("*.arrow") if not p.is_relative_to(mapped)]
    assert not kept  # no cache object is kept on the driver
    assert not any(k.endswith("lease.json") for k in s3.keys(prefix_of(bucket_cache)))  # released at the end


def test_a_second_driver_with_no_local_state_pays_for_nothing(
        bucket_cache: str, openai_server: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = rows(_llm_pipeline(bucket_cache, openai_server.base_url, replicas=2).run())
    sent = openai_server.counters.answered
    assert sent == 30
    monkeypatch.setenv("SYNTHGEN_STATE_DIR", str(tmp_path / "driver-b"))  # another machine
    assert rows(_llm_pipeline(bucket_cache, openai_server.base_url).run()) == first
    assert openai_server.counters.answered == sent
    state = json.loads(next((tmp_path / "driver-b").rglob("batch_manager.json")).read_text())
    assert state["steps"]["gen"]["computed"] == 0 and state["steps"]["gen"]["cache_hits"] > 0


def test_a_killed_driver_resumes_from_another_machine(bucket_cache: str, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    counts = tmp_path / "counts"
    counts.mkdir()
    kill_chain_midway(bucket_cache, counts)
    monkeypatch.setenv("SYNTHGEN_STATE_DIR", str(tmp_path / "driver-b"))  # another machine, same host name
    result = rows(chain(bucket_cache, count=200, delay=0.0, count_dir=str(counts)).run())
    assert [r["n"] for r in result] == list(range(200))
    assert batches_run(counts, "a") <= 14 + 1  # 14 batches in all: only the one in flight at the kill is redone


def test_a_fresh_lease_of_another_driver_stops_the_run_and_a_stale_one_is_taken_over(
        s3: S3TestServer, bucket_cache: str) -> None:
    pipeline = chain(bucket_cache, count=20)
    key = f"{prefix_of(bucket_cache)}/chain/{pipeline.folder_key}/{lease.LEASE}"
    other = {"host": "gpu-node-7", "pid": 4242, "token": "theirs"}
    s3.put(key, json.dumps({**other, "renewed": time.time()}).encode())
    with pytest.raises(CacheError, match=r"running from another driver \(host gpu-node-7, pid 4242.*expires"):
        pipeline.run()
    assert json.loads(s3.get(key))["token"] == "theirs"  # their lease is left alone
    s3.put(key, json.dumps({**other, "renewed": time.time() - 2 * lease.EXPIRES_AFTER}).encode())
    assert [r["n"] for r in rows(chain(bucket_cache, count=20).run())] == list(range(20))


def test_a_driver_that_loses_the_race_for_the_lease_stops(s3: S3TestServer, bucket_cache: str,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from synthgen.blobs import RemoteBlobs

    folder = RemoteBlobs(f"{bucket_cache}/p/sig")
    real_sleep = time.sleep

    def rival_writes_meanwhile(seconds: float) -> None:  # the other driver's write lands after ours
        folder.write(lease.LEASE, json.dumps({"host": "h2", "pid": 2, "token": "t2",
                                              "renewed": time.time()}).encode())
        real_sleep(seconds)

    monkeypatch.setattr(lease.time, "sleep", rival_writes_meanwhile)
    with pytest.raises(CacheError, match="host h2, pid 2"), lease.driver_lease(folder, "p"):
        pass


def test_the_stop_request_and_token_spending_reach_every_replica_through_the_bucket(
        bucket_cache: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(interrupts, "_REMOTE_POLL", 0.0)
    run = interrupts.new_run_dir(f"{bucket_cache}/p/sig/.run")
    interrupts.watch(run)
    try:
        one, two = Spend("gen"), Spend("gen")
        one.add(100)
        two.add(40)
        one.sync()
        assert one.total == 140
        Spend("gen.2").add(1000)  # another step's spending is its own
        two.sync()
        assert two.total == 140
        assert not interrupts.requested()
        interrupts.request_stop(run)
        assert interrupts.requested()
        assert interrupts.new_run_dir(run) == run and not interrupts.requested()  # a new run starts clean
    finally:
        interrupts.watch(None)


def test_a_damaged_object_in_the_bucket_is_reported_and_removed(s3: S3TestServer, bucket_cache: str) -> None:
    store = Store(bucket_cache)
    digest, _ = store.put_rows([{"a": 1}])
    key = f"{prefix_of(bucket_cache)}/objects/{digest[:2]}/{digest}.arrow"
    s3.put(key, b"not arrow")
    with pytest.raises(CorruptObject, match="corrupted"):
        store.get_table(digest)
    assert not store.has_object(digest)
    assert store.put_rows([{"a": 1}])[0] == digest and store.get_rows(digest) == [{"a": 1}]


def test_paid_answers_are_records_in_the_bucket(s3: S3TestServer, bucket_cache: str) -> None:
    store = Store(bucket_cache)
    store.put_records("requests", {"k1": {"text": "a"}, "k2": {"text": "b"}})
    assert store.get_record("requests", "k2") == {"text": "b"}
    assert store.get_record("requests", "missing") is None
    assert sorted(k.rsplit("/", 1)[1] for k in s3.keys(f"{prefix_of(bucket_cache)}/requests/")) == ["k1.json", "k2.json"]


def test_cache_commands_keep_to_this_drivers_folders_and_never_delete_the_shared_cache(bucket_cache: str) -> None:
    with pytest.raises(CacheError, match=r"no pipeline has run on s3://.* from this machine.*SYNTHGEN_STATE_DIR"):
        cache_commands.ls(bucket_cache)
    chain(bucket_cache, count=20).run()
    listing = cache_commands.ls(bucket_cache)
    assert "chain" in listing and "finished" in listing and f"in {bucket_cache} (not measured)" in listing
    with pytest.raises(CacheError, match=r"cannot clean the shared cache.*lifecycle rules"):
        cache_commands.gc(bucket_cache)
    with pytest.raises(CacheError, match="will not delete the shared cache"):
        cache_commands.clear(None, bucket_cache)
    assert "stay in" in cache_commands.clear("chain", bucket_cache)


@pytest.mark.ray
def test_a_ray_run_over_the_bucket_matches_the_local_runner_and_reruns_locally_from_it(
        bucket_cache: str, openai_server: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ray = pytest.importorskip("ray", reason="ray is not installed: pip install 'synthgen[ray]'")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)  # its workers get the S3 endpoint
    try:
        on_ray = rows(_llm_pipeline(bucket_cache, openai_server.base_url, replicas=2).run(runner="ray"))
    finally:
        ray.shutdown()
    assert on_ray == rows(_llm_pipeline(tmp_path / "local", openai_server.base_url).run())
    sent = openai_server.counters.answered
    monkeypatch.setenv("SYNTHGEN_STATE_DIR", str(tmp_path / "driver-b"))
    assert rows(_llm_pipeline(bucket_cache, openai_server.base_url).run()) == on_ray
    assert openai_server.counters.answered == sent


@pytest.mark.parametrize("url", ["memory://cache", "hf://datasets/x/y", "sftp://host/cache"])
def test_a_filesystem_the_cache_cannot_run_on_is_refused_naming_what_works(url: str) -> None:
    with pytest.raises(CacheError, match=r"cannot run on.*shared filesystem.*s3://.*save_to_disk"):
        Pipeline(name="remote", cache_dir=url)


def test_a_missing_fsspec_backend_names_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "gcsfs" else real(name, *a))
    with pytest.raises(CacheError, match="needs the gcsfs package.*pip install gcsfs"):
        Pipeline(name="remote", cache_dir="gs://bucket/cache")


def test_a_bucket_without_a_name_is_refused() -> None:
    with pytest.raises(CacheError, match="names no bucket"):
        Store("s3://")
