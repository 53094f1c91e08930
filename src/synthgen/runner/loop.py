"""The one scheduling loop. Executors differ in where a replica runs, never in what is scheduled.

Rows never pass through here: the loop routes segments ``(digest, start, stop)`` of objects already
written to the store, cuts them into input batches of each step's ``input_batch_size``, answers a batch
from the cache when its key is known, and releases outputs in sequence order so the final row order is
the generators' order whatever the replica count or timing.
"""

from __future__ import annotations

import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from loguru import logger

from synthgen import interrupts, plan
from synthgen.errors import (
    BudgetExceeded,
    CacheError,
    OfflineBatchGenerationNotFinished,
    PipelineInterrupted,
    StepError,
    SynthgenError,
)
from synthgen.hashing import stable_hash
from synthgen.plan import StepKind
from synthgen.runner.batch_leases import BatchClaims
from synthgen.runner.messages import BatchDone, BatchFailed, BatchTask, ReplicaEvent, Segment
from synthgen.runner.progress import Progress
from synthgen.runner.routing import Routing, take_segments

if TYPE_CHECKING:
    from synthgen.runner.context import RunContext

FAILURE_EXAMPLES = 20  # failed rows listed per step in the journal (all of them are counted)


class Executor(Protocol):
    name: str

    def start(self, step: Any, gpu_ids: list[list[str]] | None) -> None: ...
    def submit(self, task: BatchTask) -> None: ...
    def poll(self, timeout: float) -> list[Any]: ...
    def stop(self, step_name: str) -> None: ...
    def join(self, step_name: str, timeout: float = 60.0) -> None: ...
    def check_alive(self) -> None: ...
    def running(self, step_name: str) -> bool: ...
    def shutdown(self, force: bool = False) -> None: ...


@dataclass
class StepState:
    node: plan.Node
    preds: list[str]
    succs: list[str]
    buffers: dict[str, deque[Segment]] = field(default_factory=dict)
    buffered: dict[str, int] = field(default_factory=dict)
    preds_done: set[str] = field(default_factory=set)
    next_seq: int = 0
    released: int = 0
    pending: dict[int, BatchDone] = field(default_factory=dict)
    inputs_of: dict[int, int] = field(default_factory=dict)  # seq -> input rows, for progress
    outputs: list[tuple[str, int]] = field(default_factory=list)
    stopped: set[int] = field(default_factory=set)  # batches that ended with a stop (Ctrl+C, budget)
    submitted_all: bool = False
    finished: bool = False
    hits: int = 0  # released batches answered from the batch index
    misses: int = 0  # released batches computed in this run
    rows_cached: int = 0
    rows_computed: int = 0
    failures: list[tuple[int, str]] = field(default_factory=list)  # (row of the step's output, error)
    llm: Counter[str] = field(default_factory=Counter)  # the step's LLM requests in this run

    @property
    def in_flight(self) -> int:
        return self.next_seq - self.released

    @property
    def running(self) -> int:
        """Batches still being processed: neither done (``pending`` waits behind a stopped one, which is
        never released) nor stopped."""
        return self.in_flight - len(self.stopped) - len(self.pending)

    def release(self, done: BatchDone) -> None:
        """Count a batch released downstream: its rows, where they came from, which of them failed."""
        offset = self.rows_cached + self.rows_computed
        self.outputs.append((done.digest, done.rows))
        self.failures.extend((offset + row, error) for row, error in done.failed)
        self.llm.update(done.llm)
        if done.cached:
            self.hits, self.rows_cached = self.hits + 1, self.rows_cached + done.rows
        else:
            self.misses, self.rows_computed = self.misses + 1, self.rows_computed + done.rows

    def report(self) -> dict[str, Any]:
        """What the summary, the journal and ``synthgen cache explain`` say of this step."""
        return {"batches": self.released, "rows": self.rows_cached + self.rows_computed,
                "cache_hits": self.hits, "computed": self.misses, "rows_from_cache": self.rows_cached,
                "rows_computed": self.rows_computed, "failed": len(self.failures),
                "failures": [list(f) for f in self.failures[:FAILURE_EXAMPLES]], "kind": self.node.kind.value,
                "outputs": stable_hash(self.outputs), **({"llm": dict(self.llm)} if self.llm else {})}


class Scheduler:
    """Runs load stages one after another over the run's executor and store.

    Args:
        ctx: the run: graph, store, executor, forced steps, GPU plan, run folder and options
            (``retry_failed``: a batch the index records as finished with failed rows is computed again,
            its rows' successful answers coming from the request cache; ``False`` keeps it as it is).
        progress: where rows received and processed are counted.
        prestart: steps started with their stage (None: all of them); the others start on their first
            batch to compute.
        on_release: called as ``(step, digest, rows)`` for each batch released downstream.
        on_tick: called with the scheduler on each turn of the loop (checkpoints).
    """

    def __init__(self, ctx: RunContext, progress: Progress, *, prestart: set[str] | None = None,
                 on_release: Callable[[str, str, int], None] | None = None,
                 on_tick: Callable[[Scheduler], None] | None = None) -> None:
        self.ctx = ctx
        self.graph, self.store, self.executor = ctx.graph, ctx.store, ctx.executor
        self.retry_failed = ctx.options.retry_failed
        self.forced, self.gpu_plan, self.progress = ctx.forced, ctx.gpu_plan, progress
        self.states = {n: StepState(node, self.graph.predecessors(n), self.graph.successors(n))
                       for n, node in self.graph.nodes.items()}
        for st in self.states.values():
            st.buffers = {p: deque() for p in st.preds}
            st.buffered = dict.fromkeys(st.preds, 0)
        self.active: set[str] = set()
        self.ready: deque[BatchDone] = deque()
        self.stopping = False
        self.stop_error: BaseException | None = None  # what a stop that is not Ctrl+C (a budget) ends with
        self.run_dir = ctx.run_dir  # shared with the replicas: interrupt() leaves its stop request there
        self.prestart, self.on_release, self.on_tick = prestart, on_release, on_tick
        self.routing = Routing(self.graph, self.store)
        self.claims = BatchClaims(self.store)  # batches another live run computes wait for its result

    # ---- stages ----------------------------------------------------------------------------
    def run_stage(self, stage: list[str], join: bool = True) -> None:
        """Run one load stage to its end, then stop its replicas (they unload) and, with ``join``, wait
        for them to exit, as the next stage's steps may need their GPUs."""
        self.active = set(stage)
        # Every replica of the stage boots at once: started on its first batch instead, each step would
        # wait for its upstream's first output before even importing (a chain of start-up delays).
        for name in stage:
            prestart = self.prestart is None or name in self.prestart or self.states[name].node.kind == StepKind.GENERATOR
            if prestart and not self.executor.running(name):
                self.executor.start(self.states[name].node.step, self.gpu_plan.get(name))
        for name in stage:
            if self.states[name].node.kind == StepKind.GENERATOR:
                self._dispatch(BatchTask(name, 0, self.states[name].node.fingerprint, generate=True,
                                         run_dir=self.run_dir))
            else:
                self._form_batches(name)
        while not all(self.states[n].finished for n in stage):
            if self.stopping and not any(self.states[n].running for n in stage if self.states[n].node.kind != StepKind.GENERATOR):
                raise self.stop_error or PipelineInterrupted("interrupted")
            self._drain_ready()
            for msg in self.executor.poll(0.1):
                self._handle(msg)
            self._dispatch_set_aside()
            self._drain_ready()
            self.executor.check_alive()
            self.progress.tick()
            if self.on_tick is not None:
                self.on_tick(self)
        for name in stage:
            if self.executor.running(name):
                self.executor.stop(name)
        for name in stage if join else ():
            if self.executor.running(name):
                self.executor.join(name)

    # ---- messages --------------------------------------------------------------------------
    def _handle(self, msg: Any) -> None:
        if isinstance(msg, BatchDone):
            self.claims.done(msg.key)
            self.ready.append(msg)
        elif isinstance(msg, BatchFailed):
            self._fail(msg)
        elif isinstance(msg, ReplicaEvent):
            logger.debug(f"{msg.step} replica {msg.replica} {msg.event}")

    def _fail(self, msg: BatchFailed) -> None:
        error = msg.error or RuntimeError(msg.traceback)
        if isinstance(error, OfflineBatchGenerationNotFinished):  # pending jobs, not a failure
            raise OfflineBatchGenerationNotFinished(error.jobs_ids, f"step '{msg.step}': {error}", msg.step)
        if isinstance(error, BudgetExceeded):
            self._stop_for_budget(msg, error)
            return
        if isinstance(error, PipelineInterrupted) and self.stopping:  # its unsent requests wait for the rerun
            self.states[msg.step].stopped.add(msg.seq)
            return
        if isinstance(error, SynthgenError):  # one line says it; the traceback is for SYNTHGEN_DEBUG
            logger.debug(f"step '{msg.step}' failed on batch {msg.seq}:\n{msg.traceback}")
        else:
            logger.error(f"step '{msg.step}' failed on batch {msg.seq}:\n{msg.traceback}")
        if isinstance(error, StepError):  # the step already named itself and the problem
            raise error
        if isinstance(error, CacheError):
            raise CacheError(f"step '{msg.step}': {error}") from error
        raise StepError(msg.step, f"{type(error).__name__}: {error}") from error

    def _stop_for_budget(self, msg: BatchFailed, error: BudgetExceeded) -> None:
        """A clean, resumable stop, like Ctrl+C: the batches in flight finish — their answers were paid for
        and are cached as they land, where killing their replicas would lose them — then the run ends
        with BudgetExceeded (no traceback). The other replicas stop sending as they see the spending."""
        self.states[msg.step].stopped.add(msg.seq)
        if self.stop_error is None:
            self.stop_error = BudgetExceeded(f"step '{msg.step}': {error}")
            self.stop_error.__cause__ = error
            logger.warning(f"step '{msg.step}': token budget reached; letting the batches in flight finish")
            self.interrupt()

    def _drain_ready(self) -> None:
        while self.ready:
            self._on_done(self.ready.popleft())

    def _on_done(self, done: BatchDone) -> None:
        st = self.states[done.step]
        st.pending[done.seq] = done
        if st.node.kind == StepKind.GENERATOR and done.seq >= st.next_seq:
            st.next_seq = done.seq + 1
        while st.released in st.pending:
            out = st.pending.pop(st.released)
            st.released += 1
            st.release(out)
            if self.on_release is not None:
                self.on_release(done.step, out.digest, out.rows)
            self.progress.advance(done.step, st.inputs_of.pop(out.seq, out.rows))
            for succ, origin in self.routing.destinations(done.step, st.succs, out):
                self._push(succ, done.step, (out.digest, 0, out.rows), origin)
            if st.node.kind == StepKind.GENERATOR and out.last:
                st.submitted_all = True
        if st.submitted_all and st.in_flight == 0 and not st.finished:
            self._finish(done.step)

    def _finish(self, name: str) -> None:
        st = self.states[name]
        st.finished = True
        self.progress.finish(name)
        for succ in st.succs:
            self.states[succ].preds_done.add(name)
            self._form_batches(succ)

    def _push(self, step: str, pred: str, segment: Segment, origin: int | None = None) -> None:
        st = self.states[step]
        if step in self.routing.joins:  # kept per origin; counted as progress when its batches form
            self.routing.add_joined(step, pred, origin, segment)
            self._form_batches(step)
            return
        if segment[2] > segment[1]:
            st.buffers[pred].append(segment)
            st.buffered[pred] += segment[2] - segment[1]
            if pred == st.preds[0]:  # rows are joined by position: one predecessor's count is the total
                self.progress.receive(step, segment[2] - segment[1])
        self._form_batches(step)

    # ---- batching --------------------------------------------------------------------------
    def _form_batches(self, name: str) -> None:
        st = self.states[name]
        if name not in self.active or st.submitted_all or self.stopping:
            return
        if name in self.routing.targets:
            self._form_routed(name, st)
            return
        if name in self.routing.joins:
            self._form_joined(name, st)
            return
        all_done = set(st.preds) <= st.preds_done
        if st.node.kind == StepKind.GLOBAL:
            if all_done:
                self._submit(st, [self._take(st, p, st.buffered[p]) for p in st.preds])
                st.submitted_all = True
            return
        size = st.node.batch_size
        while all(st.buffered[p] >= size for p in st.preds):
            self._submit(st, [self._take(st, p, size) for p in st.preds])
        if all_done:
            while any(st.buffered[p] for p in st.preds):
                self._submit(st, [self._take(st, p, min(size, st.buffered[p])) for p in st.preds])
            st.submitted_all = True
            if st.in_flight == 0 and not st.finished:
                self._finish(name)

    def _form_routed(self, name: str, st: StepState) -> None:
        """A routed step cuts each batch routed to it into its own batches, never mixing two of them."""
        target = self.routing.targets[name]
        while target.queued:
            origin, rows = target.queued.popleft()
            for start in range(0, rows, st.node.batch_size):
                target.opened(st.next_seq, origin)
                self._submit(st, [self._take(st, st.preds[0], min(st.node.batch_size, rows - start))])
        self._all_submitted_when(name, st, set(st.preds) <= st.preds_done)

    def _form_joined(self, name: str, st: StepState) -> None:
        """A step after routed steps gets, per routed batch, the rows of the steps it went to."""
        for group in self.routing.ready_groups(name):
            left = {p: sum(stop - start for _, start, stop in segs) for p, segs in group.items()}
            while any(left.values()):
                inputs = [take_segments(segs, min(st.node.batch_size, left[p])) for p, segs in group.items()]
                left = {p: left[p] - sum(b - a for _, a, b in taken) for p, taken in zip(group, inputs, strict=True)}
                self.progress.receive(name, sum(b - a for _, a, b in inputs[0]))
                self._submit(st, inputs, plan.routed_batch_key(st.node.fingerprint, list(group), inputs))
        self._all_submitted_when(name, st, set(st.preds) <= st.preds_done and self.routing.joined_all(name))

    def _all_submitted_when(self, name: str, st: StepState, done: bool) -> None:
        if done:
            st.submitted_all = True
            if st.in_flight == 0 and not st.finished:
                self._finish(name)

    def _take(self, st: StepState, pred: str, n: int) -> list[Segment]:
        st.buffered[pred] -= n
        return take_segments(st.buffers[pred], n)

    def _submit(self, st: StepState, inputs: list[list[Segment]], key: str | None = None) -> None:
        key = key or plan.batch_key(st.node.fingerprint, inputs)
        st.inputs_of[st.next_seq] = sum(stop - start for _, start, stop in inputs[0]) if inputs else 0
        self._dispatch(BatchTask(st.node.name, st.next_seq, key, inputs, fresh=st.node.name in self.forced,
                                 run_dir=self.run_dir))
        st.next_seq += 1

    def _dispatch(self, task: BatchTask) -> None:
        st = self.states[task.step]
        if not task.generate and self._cached(task):
            return
        if not task.generate and self._reusable(task.step) and not self.claims.claim(task):
            return  # another live run computes it: _dispatch_set_aside brings it back when that is over
        if not self.executor.running(task.step):
            self.executor.start(st.node.step, self.gpu_plan.get(task.step))
        self.executor.submit(task)

    def _cached(self, task: BatchTask) -> bool:
        """Answer a batch from the store when an earlier run (or replica) already computed it."""
        if not self._reusable(task.step):
            return False
        record = self.store.get_record("batches", task.key)
        if record is None or (record.get("failed") and self.retry_failed):
            return False  # never computed, or finished with failed rows that this run retries
        if not self.store.verify_object(record["digest"]):
            return False
        failed = tuple((int(row), str(error)) for row, error in record.get("failed", ()))
        self.ready.append(BatchDone(task.step, task.seq, record["digest"], record["rows"], key=task.key,
                                    failed=failed, cached=True))
        return True

    def _reusable(self, step: str) -> bool:
        """Whether ``step``'s batches may come from the cache (not forced, ``use_cache``)."""
        return step not in self.forced and self.graph.nodes[step].step.use_cache

    def _dispatch_set_aside(self) -> None:
        """Batches set aside while another run computed them: dispatched again once its lease is gone
        (a cache hit, or computed here if that run failed or died); dropped when this run stops."""
        if self.stopping:
            for task in self.claims.abandon():
                self.states[task.step].stopped.add(task.seq)
            return
        for task in self.claims.due():
            self._dispatch(task)

    def interrupt(self) -> None:
        """First Ctrl+C: form no new batches; in-flight ones finish and are written."""
        self.stopping = True
        interrupts.request_stop(self.run_dir)

    def summary(self) -> dict[str, dict[str, Any]]:
        """Per step: batches, rows (from cache, computed, failed, with examples of errors), its kind, and
        a hash of its output objects (``synthgen cache explain`` tells from it whether a step's rows
        changed between runs)."""
        return {n: st.report() for n, st in self.states.items()}


def wait_seconds(start: float) -> float:
    return time.monotonic() - start
