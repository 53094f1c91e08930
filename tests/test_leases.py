"""Leases on an S3 cache root (a moto server): conditional writes keep one holder per key, a stale or
dead holder's lease is taken over by exactly one run, and two drivers on one bucket pay each request once.
(Leases on a local root: tests/llms/test_leases.py and tests/runner/test_batch_leases.py.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("moto", reason="moto is not installed: pip install -e '.[dev]'")
pytest.importorskip("s3fs", reason="s3fs is not installed: pip install 'synthgen[s3]'")

from synthgen import leases  # noqa: E402
from synthgen.blobs import RemoteBlobs  # noqa: E402
from synthgen.leases import BucketLeases, leases_at  # noqa: E402
from synthgen.testing.s3 import S3TestServer  # noqa: E402
from synthgen.testing.servers.openai import OpenAITestServer  # noqa: E402
from tests.runner.llm_pipeline import generation, prompts  # noqa: E402

ROOT = Path(__file__).parents[1]
KEY = "ab" * 20
pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def s3() -> Iterator[S3TestServer]:
    with S3TestServer() as server:
        yield server


@pytest.fixture
def cache(s3: S3TestServer, request: pytest.FixtureRequest) -> str:
    return s3.url(f"{request.node.name}/cache")


def bucket_leases(cache: str) -> BucketLeases:
    return BucketLeases(RemoteBlobs(cache), "requests")


def plant(cache: str, key: str, holder: dict[str, object]) -> None:
    RemoteBlobs(cache).write(f"leases/requests/{key[:2]}/{key}.lease", json.dumps(holder).encode())


def test_an_s3_root_gets_bucket_leases_and_one_holder_at_a_time(cache: str) -> None:
    assert isinstance(leases_at(cache, "requests"), BucketLeases)
    mine, theirs = bucket_leases(cache), bucket_leases(cache)
    assert mine.acquire(KEY)
    assert not theirs.acquire(KEY) and theirs.held_elsewhere(KEY)
    mine.release(KEY)
    assert not theirs.held_elsewhere(KEY) and theirs.acquire(KEY)
    theirs.release(KEY)


def test_a_lease_not_renewed_or_of_a_dead_process_is_taken_over(cache: str) -> None:
    plant(cache, KEY, {"host": "gpu-node-7", "pid": 1, "renewed": time.time()})
    assert not bucket_leases(cache).acquire(KEY), "a fresh lease of another node is respected"
    plant(cache, KEY, {"host": "gpu-node-7", "pid": 1, "renewed": time.time() - leases.STALE_AFTER - 1})
    taker = bucket_leases(cache)
    assert taker.acquire(KEY)
    taker.release(KEY)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    other = "cd" * 20
    plant(cache, other, {"host": leases.HOST, "pid": int(dead.stdout), "renewed": time.time()})
    taker = bucket_leases(cache)
    assert taker.acquire(other)
    taker.release(other)


def test_runs_taking_over_stale_leases_together_get_one_each(cache: str) -> None:
    keys = [f"{i:040x}" for i in range(20)]
    for key in keys:
        plant(cache, key, {"host": "gone", "pid": 1, "renewed": 0.0})
    won: list[str] = []
    barrier = threading.Barrier(4)

    def race() -> None:
        mine = bucket_leases(cache)
        barrier.wait()
        won.extend(key for key in keys if mine.acquire(key))
        barrier.wait()  # nobody releases before every racer has tried every key
        for key in keys:
            mine.release(key)

    racers = [threading.Thread(target=race) for _ in range(4)]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join()
    assert sorted(won) == keys, "every stale lease is taken over by exactly one run"


def test_a_holder_whose_lease_was_taken_over_loses_it_and_leaves_the_new_one(cache: str) -> None:
    mine, theirs = bucket_leases(cache), bucket_leases(cache)
    assert mine.acquire(KEY)
    plant(cache, KEY, {"host": "gone", "pid": 1, "renewed": 0.0})  # as if we had paused past expiry
    assert theirs.acquire(KEY)
    mine._renew(KEY, mine._held[KEY])  # the heartbeat finds its write refused
    assert KEY not in mine._held
    mine.release(KEY)
    assert not bucket_leases(cache).acquire(KEY), "their lease is still there"
    theirs.release(KEY)


def test_a_lease_released_while_its_heartbeat_refreshes_it_is_still_removed(s3: S3TestServer, cache: str) -> None:
    """The heartbeat replaces the lease (a new ETag) just as the holder releases it: the release removes
    the version it knew, which no longer exists; the refreshed one must go too, or it outlives the work
    (CI found one left in the bucket after both drivers had finished)."""
    mine = bucket_leases(cache)
    assert mine.acquire(KEY)
    version = mine._held[KEY]
    refresh = mine._refresh

    def refresh_then_release(key: str, at: str) -> str | None:
        fresh = refresh(key, at)
        mine.release(key)  # the engine lets go in the middle of the beat
        return fresh

    mine._refresh = refresh_then_release  # type: ignore[method-assign]
    mine._renew(KEY, version)
    assert not [k for k in s3.keys(cache.split("/", 3)[3]) if k.endswith(".lease")]
    assert bucket_leases(cache).acquire(KEY), "the key is free for the next run"


DRIVER = """
import sys, time
from tests.runner.llm_pipeline import generation
cache, url, rows, at = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
pipeline = generation(cache, url, rows, 8, f"rows{rows}")
time.sleep(max(0.0, at - time.time()))
print("ROWS", len(pipeline.run()["default"]["train"]), flush=True)
"""


def test_two_drivers_on_one_bucket_pay_each_request_once(s3: S3TestServer, cache: str, tmp_path: Path) -> None:
    """Driver one asks rows 0-199, driver two rows 0-299, started in the same moment from two machines
    (two state folders): the first 200 are asked by both at once, the last 100 by one of them."""
    at = time.time() + 8
    with OpenAITestServer(model="m", latency=0.05) as srv:
        drivers = [subprocess.Popen([sys.executable, "-c", DRIVER, cache, srv.base_url, str(rows), str(at)], cwd=ROOT,
                                    env={**os.environ, "OPENAI_API_KEY": "k", "SYNTHGEN_LOG_LEVEL": "WARNING",
                                         "SYNTHGEN_STATE_DIR": str(tmp_path / f"driver-{rows}")},
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for rows in (200, 300)]
        outputs = [driver.communicate(timeout=240) for driver in drivers]
        assert [d.returncode for d in drivers] == [0, 0], [err[-2000:] for _, err in outputs]
        assert "ROWS 200" in outputs[0][0] and "ROWS 300" in outputs[1][0]
        assert srv.counters.requests == 300 and srv.counters.duplicates == 0
        result = generation(cache, srv.base_url, 300, 8, "rows300").run()["default"]["train"]["generation"]
        assert result == [f"Echo: {row['instruction']}" for row in prompts(0, 300)]
        assert srv.counters.requests == 300
    assert not [k for k in s3.keys(cache.split('/', 3)[3]) if k.endswith(".lease")], "every lease given back"
