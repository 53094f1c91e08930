"""The replica lifecycle both executors drive (a local process and a Ray actor): start, results, stop."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from synthgen.runner.messages import BatchDone, BatchFailed, BatchTask, ReplicaEvent
from synthgen.runner.worker import Replica
from synthgen.steps.base import StepInput, StepOutput
from synthgen.store import Store, active_store, set_active_store
from synthgen.testing.steps import AddColumn, GenerateNumbers


class LoadFails(AddColumn):
    def load(self) -> None:
        raise RuntimeError("no model here")

    def unload(self) -> None:
        raise AssertionError("a step that did not load must not be unloaded")


class UnloadFails(AddColumn):
    def unload(self) -> None:
        raise RuntimeError("stuck")


class Raises(AddColumn):
    def process(self, *inputs: StepInput) -> StepOutput:
        raise ValueError("bad batch")
        yield inputs[0]


@pytest.fixture(autouse=True)
def no_store_left_behind() -> Any:
    """A replica built in this process sets the process's active store: later tests must not see it."""
    yield
    set_active_store(None)


def task_for(store: Store, step: str, rows: list[dict[str, Any]]) -> BatchTask:
    digest, n = store.put_rows(rows)
    return BatchTask(step, 0, f"key-{step}", [[(digest, 0, n)]])


def test_a_replica_loads_serves_a_batch_and_unloads(tmp_path: Path) -> None:
    rep = Replica(AddColumn(name="add", factor=3), str(tmp_path), 0)
    assert rep.start() == ReplicaEvent("add", 0, "loaded")
    [done] = rep.results(task_for(rep.store, "add", [{"n": 1}, {"n": 2}]))
    assert isinstance(done, BatchDone) and (done.step, done.seq, done.rows) == ("add", 0, 2)
    assert [r["out"] for r in rep.store.get_rows(done.digest, 0, 2)] == [3, 6]
    events: list[Any] = []
    rep.stop(events.append)
    assert events == [ReplicaEvent("add", 0, "unloaded")]


def test_a_generator_streams_each_batch_as_it_is_written(tmp_path: Path) -> None:
    rep = Replica(GenerateNumbers(name="gen", count=5, batch_size=2), str(tmp_path), 1)
    rep.start()
    results = list(rep.results(BatchTask("gen", 0, "fp", generate=True)))
    assert [(d.seq, d.rows, d.last) for d in results] == [(0, 2, False), (1, 2, False), (2, 1, True)]


def test_a_load_error_is_batch_minus_one_and_fails_every_batch(tmp_path: Path) -> None:
    rep = Replica(LoadFails(name="bad"), str(tmp_path), 0)
    first = rep.start()
    assert isinstance(first, BatchFailed) and first.seq == -1 and "no model here" in first.traceback
    [result] = rep.results(BatchTask("bad", 4, "k"))
    assert isinstance(result, BatchFailed) and result.seq == 4 and str(result.error) == "no model here"
    events: list[Any] = []
    rep.stop(events.append)  # a step that never loaded is not unloaded
    assert events == [ReplicaEvent("bad", 0, "unloaded")]


def test_a_failed_batch_is_a_message_not_an_exception(tmp_path: Path) -> None:
    rep = Replica(Raises(name="raises"), str(tmp_path), 0)
    rep.start()
    [result] = rep.results(task_for(rep.store, "raises", [{"n": 1}]))
    assert isinstance(result, BatchFailed) and isinstance(result.error, ValueError) and result.seq == 0


def test_unloaded_is_sent_even_when_unload_raises(tmp_path: Path) -> None:
    rep = Replica(UnloadFails(name="stuck"), str(tmp_path), 2)
    rep.start()
    events: list[Any] = []
    with pytest.raises(RuntimeError, match="stuck"):
        rep.stop(events.append)
    assert events == [ReplicaEvent("stuck", 2, "unloaded")]


def test_a_stopped_replica_leaves_no_active_store(tmp_path: Path) -> None:
    """In-process replicas (tests, notebooks) must not leave the process pointing at their cache."""
    replica = Replica(AddColumn(name="add"), str(tmp_path), 0)
    assert active_store() is replica.store
    replica.start()
    replica.stop(lambda event: None)
    assert active_store() is None
