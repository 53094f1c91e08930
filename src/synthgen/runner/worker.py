"""What runs inside one step replica: load, process batches from the store, write results, unload."""

from __future__ import annotations

import pickle
import threading
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from synthgen import interrupts
from synthgen.columns import StoredTable, joined_pieces
from synthgen.logging import setup_logging
from synthgen.plugins import fire
from synthgen.runner.messages import BatchDone, BatchFailed, BatchTask, ReplicaEvent
from synthgen.runner.rows import RowFailure, check_rows, failed_rows
from synthgen.steps.base import BaseStep, GeneratorStep
from synthgen.store import Reuse, Store, active_store, set_active_store
from synthgen.values import table_to_rows
from synthgen.write_errors import cache_writes

Emit = Callable[[Any], None]


def apply_input_mappings(step: BaseStep, rows: list[dict[str, Any]]) -> None:
    """Rename upstream columns to the names the step reads (``input_mappings``: step name -> upstream)."""
    for ours, theirs in step.input_mappings.items():
        for row in rows:
            if theirs in row:
                row[ours] = row.pop(theirs)


def apply_output_mappings(step: BaseStep, rows: list[dict[str, Any]]) -> None:
    """Give input columns back their upstream names and rename outputs (``output_mappings``)."""
    for ours, theirs in step.input_mappings.items():
        for row in rows:
            if ours in row:
                row[theirs] = row.pop(ours)
    for ours, theirs in step.output_mappings.items():
        for row in rows:
            if ours in row:
                row[theirs] = row.pop(ours)


def batch_record(digest: str, rows: int, failures: list[RowFailure]) -> dict[str, Any]:
    """The batch index entry: the output object, and the rows that failed (a rerun computes it again)."""
    record: dict[str, Any] = {"digest": digest, "rows": rows}
    if failures:
        record["failed"] = [list(f) for f in failures]
    return record


class Replica:
    """One replica of one step, independent of where it runs (a spawned process or a Ray actor).

    Both executors drive the same lifecycle: :meth:`start` loads the step, :meth:`results` serves one
    task at a time per thread, :meth:`stop` unloads it. A failure is a message (``BatchFailed``), never
    an exception out of these three, so the loop sees a load error as the failed batch ``-1``.
    """

    def __init__(self, step: BaseStep, store_root: str, replica: int, log_level: str | None = None) -> None:
        if log_level is not None:
            setup_logging(log_level)
        self.step = step
        self.store = Store(store_root)
        self.replica = replica
        self.load_error: BaseException | None = None
        self._llm_seen: dict[str, int] = {}
        self._llm_lock = threading.Lock()
        set_active_store(self.store)

    # ---- lifecycle -----------------------------------------------------------------------
    def start(self) -> BatchFailed | ReplicaEvent:
        """Load the step and say how it went: ``loaded``, or the load error as a failed batch (kept and
        reported again for each task, so a replica that cannot load fails every batch it is given)."""
        try:
            self.step.load()
        except BaseException as exc:
            self.load_error = exc
            return failed(BatchTask(str(self.step.name), -1, ""), exc)
        fire("synthgen_before_step_started", step=self.step)
        return self._event("loaded")

    def results(self, task: BatchTask) -> Iterator[BatchDone | BatchFailed]:
        """The results of one task as each is written: one for a batch, a stream for a generator."""
        if self.load_error is not None:
            yield failed(task, self.load_error)
            return
        try:
            if task.generate:
                yield from self.iter_generator(task)
            else:
                yield self.run_batch(task)
        except BaseException as exc:
            yield failed(task, exc)

    def stop(self, emit: Emit) -> None:
        """Unload the step (when it loaded), then ``emit`` the ``unloaded`` event, even if unload raised."""
        try:
            if self.load_error is None:
                self.step.unload()
        finally:
            if active_store() is self.store:  # a replica run in-process leaves no store behind it
                set_active_store(None)
            emit(self._event("unloaded"))

    def _event(self, event: str) -> ReplicaEvent:
        return ReplicaEvent(str(self.step.name), self.replica, event)

    # ---- work ----------------------------------------------------------------------------

    def run_batch(self, task: BatchTask) -> BatchDone:
        interrupts.watch(task.run_dir)
        self.store.fresh_requests = task.fresh
        stored = [self._read(segments) for segments in task.inputs]
        inputs = [rows for rows, _ in stored]
        reuse = _reuse(stored)
        for rows in inputs:
            apply_input_mappings(self.step, rows)
        out: list[dict[str, Any]] = []
        for produced in self.step.process(*inputs):  # type: ignore[attr-defined]
            out.extend(produced)
        check_rows(str(self.step.name), out)
        failures = failed_rows(self.step, out)
        apply_output_mappings(self.step, out)
        with cache_writes(self.store.location, "the batch's rows", out):
            # No fsync (an fsync per object was most of a light step's time): an object or index entry
            # lost or torn by a power cut fails its digest check when read, so the batch is computed
            # again, never used. kill -9 loses nothing either way; paid LLM answers are synced apart.
            digest, n = self.store.put_rows(out, reuse, sync=False)
            self.store.put_record("batches", task.key, batch_record(digest, n, failures), sync=False)
        fire("synthgen_after_batch_written", step=self.step, batch={"seq": task.seq, "digest": digest, "rows": n})
        return BatchDone(task.step, task.seq, digest, n, key=task.key, failed=tuple(failures), llm=self._llm_delta())

    def _llm_delta(self) -> dict[str, int]:
        """The step's LLM request counts since the last batch this replica reported (threads share the
        engine, so each delta is taken under a lock: the deltas add up to the engine's totals)."""
        engine = getattr(getattr(self.step, "llm", None), "engine", None)
        if engine is None or not hasattr(engine, "stats"):
            return {}
        with self._llm_lock:
            now = engine.stats()
            delta = {k: v - self._llm_seen.get(k, 0) for k, v in now.items()}
            self._llm_seen = now
        return {k: v for k, v in delta.items() if v}

    def iter_generator(self, task: BatchTask) -> Iterator[BatchDone]:
        """Run the generator step, yielding each batch as soon as it is written."""
        assert isinstance(self.step, GeneratorStep)
        interrupts.watch(task.run_dir)
        slices = getattr(self.step, "stored_slices", None)
        stored = slices(self.store) if callable(slices) else None
        if stored is not None:
            yield from self._iter_stored(task, stored)
            return
        seq = 0
        for rows, last in self.step.process(offset=0):
            rows = list(rows)
            apply_output_mappings(self.step, rows)
            check_rows(str(self.step.name), rows)
            with cache_writes(self.store.location, "the batch's rows", rows):
                digest, n = self.store.put_rows(rows, sync=False)
            fire("synthgen_after_batch_written", step=self.step, batch={"seq": seq, "digest": digest, "rows": n})
            yield BatchDone(task.step, seq, digest, n, last=last)
            seq += 1
            if last or interrupts.requested():  # Ctrl+C: what was emitted is written; stop reading
                return
        digest, n = self.store.put_rows([])
        yield BatchDone(task.step, seq, digest, 0, last=True)

    def _iter_stored(self, task: BatchTask, slices: Iterator[tuple[int, dict[str, Any], bool]]) -> Iterator[BatchDone]:
        """A generator's batches that are slices of columns already stored (inline rows): one manifest each."""
        for seq, (rows, pieces, last) in enumerate(slices):
            with cache_writes(self.store.location, "the batch's rows", []):
                digest = self.store.put_manifest(rows, pieces, sync=False)
            fire("synthgen_after_batch_written", step=self.step, batch={"seq": seq, "digest": digest, "rows": rows})
            yield BatchDone(task.step, seq, digest, rows, last=last)
            if last or interrupts.requested():
                return

    def _read(self, segments: list[tuple[str, int, int]]) -> tuple[list[dict[str, Any]], StoredTable | None]:
        """An input's rows, and the pieces its columns are stored in."""
        rows: list[dict[str, Any]] = []
        parts = [self.store.get_stored(digest).slice(start, stop) for digest, start, stop in segments]
        for part in parts:
            rows.extend(table_to_rows(part.table))
        return rows, joined_pieces(parts)


def _reuse(stored: list[tuple[list[dict[str, Any]], StoredTable | None]]) -> Reuse | None:
    """What a step's output may keep of its input: a single input stored as columns (a step joining
    several inputs stores its output whole)."""
    if len(stored) != 1:
        return None
    rows, pieces = stored[0]
    return None if pieces is None else Reuse(pieces, rows)


def failed(task: BatchTask, exc: BaseException) -> BatchFailed:
    tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    import cloudpickle

    try:
        # The main process must be able to rebuild it, too; by value, as the step came (an exception
        # class defined in the user's script or notebook comes back as the class the user can catch).
        pickle.loads(cloudpickle.dumps(exc))
        error: BaseException | None = exc
    except Exception:  # an unpicklable exception still reaches the user as its traceback
        error = None
    return BatchFailed(task.step, task.seq, error, tb)


# ---- serving a replica (runner.worker_main starts the process) --------------------------------
def process_main(step: BaseStep, store_root: str, replica: int, task_q: Any, result_q: Any, log_level: str) -> None:
    """Load ``step``, serve the tasks of ``task_q`` (``None``: stop) and unload; results go to ``result_q``.

    Args:
        step: the step this replica runs.
        store_root: the cache root the replica reads its inputs from and writes its outputs to.
        replica: this replica's index.
        task_q: where tasks come from (``get``/``put``, as a queue's).
        result_q: where results go (``put``).
        log_level: the run's log level.
    """
    rep = Replica(step, store_root, replica, log_level)
    first = rep.start()
    result_q.put(first)
    if isinstance(first, BatchFailed):
        return
    threads = max(1, int(getattr(step, "max_batches_in_flight", 1) or 1))
    if threads == 1:
        # One batch at a time: serve from the main thread (an in-process model such as llama.cpp
        # generates about 10% slower from a pool thread).
        _serve(rep, task_q, result_q)
    else:
        with ThreadPoolExecutor(threads) as pool:
            for _ in range(threads):
                pool.submit(_serve, rep, task_q, result_q)
    rep.stop(result_q.put)


def _serve(rep: Replica, task_q: Any, result_q: Any) -> None:
    while True:
        task = task_q.get()
        if task is None:
            # One stop message per replica, but a replica serves from several threads: pass it on so
            # every thread ends and the replica unloads, instead of lingering until it is killed.
            task_q.put(None)
            return
        try:
            for result in rep.results(task):
                result_q.put(result)
        except BaseException as exc:  # a result that could not be sent
            result_q.put(failed(task, exc))
