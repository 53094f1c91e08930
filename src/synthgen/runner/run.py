"""``run_pipeline``: plan, lock the cache folder, run the load stages, write the leaf data."""

from __future__ import annotations

import importlib
import json
import threading
from collections.abc import Set as AbstractSet
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loguru import logger

from synthgen import interrupts, plan
from synthgen.errors import CheckpointError
from synthgen.llms.rescue import import_rescued
from synthgen.logging import setup_logging
from synthgen.plugins import fire
from synthgen.runner.checkpoint import CheckpointExport, CheckpointStrategy
from synthgen.runner.context import PlannedRun, RunContext, RunOptions
from synthgen.runner.execute import execute, prestarted, save_journal
from synthgen.runner.executors import make_executor, uses_local_gpus
from synthgen.runner.failures import (
    Failures,
    check_fraction,
    failures_line,
    raise_if_too_many,
    step_failures,
    summary_lines,
)
from synthgen.runner.gpus import assign_gpus
from synthgen.runner.journal import Journal, mapped_leaf_files, read_record, run_lock, write_leaf_data
from synthgen.runner.loop import Executor, Scheduler
from synthgen.store import Store
from synthgen.write_errors import cache_writes

if TYPE_CHECKING:
    from synthgen.distiset import Distiset
    from synthgen.pipeline import Pipeline


def forced_steps(graph: plan.Graph, use_cache: bool) -> set[str]:
    """Steps that must recompute: all of them without the cache, else those with ``use_cache=False``
    and everything downstream of them."""
    if not use_cache:
        return set(graph.nodes)
    forced: set[str] = set()
    for name in plan.topological_order(graph):
        if not graph.nodes[name].step.use_cache or any(p in forced for p in graph.predecessors(name)):
            forced.add(name)
    return forced


def run_pipeline(pipeline: Pipeline, load_groups: plan.LoadGroups = None, use_cache: bool = True,
                 runner: str = "local", checkpoint_strategy: CheckpointStrategy | None = None,
                 checkpoint_path: str | None = None, runner_options: dict[str, Any] | None = None,
                 retry_failed: bool = True, max_failed_fraction: float = 0.5) -> Distiset:
    """Run ``pipeline`` (see :meth:`Pipeline.run`)."""
    options = RunOptions(use_cache, retry_failed, max_failed_fraction, runner, runner_options, checkpoint_strategy,
                         checkpoint_path)
    check_fraction(max_failed_fraction)
    log_level = setup_logging()
    planned = plan_run(pipeline, load_groups, options)
    with run_lock(planned.pdir, pipeline.name), _lease(planned.store, pipeline.name, planned.folder_key):
        journal = Journal(planned.pdir, source_states(planned.graph), planned.fingerprints())
        if _finished(planned, journal):
            return _from_cache(planned, journal)
        executor = _executor(planned, log_level)
        try:
            _prespawn(executor, planned, journal)  # inside: a Ctrl+C while they start ends them too
            _prepare(pipeline, planned, journal)
            ctx = _start(planned, journal, executor)
        except BaseException:
            executor.shutdown(force=True)  # replicas started ahead end with the run
            raise
        scheduler = execute(ctx)
        _write_results(ctx, scheduler)
        failed_export = _last_checkpoint(ctx.checkpoints, ctx.store, _leaf_outputs(ctx, scheduler))
    distiset = _distiset(ctx.pdir, ctx.store, _leaf_outputs(ctx, scheduler))
    _log_summary(scheduler)
    fire("synthgen_after_pipeline_run", pipeline=pipeline, distiset=distiset)
    return _finish(distiset, step_failures(scheduler.summary()), max_failed_fraction, failed_export)


def plan_run(pipeline: Pipeline, load_groups: plan.LoadGroups, options: RunOptions) -> PlannedRun:
    """What the run will do: its graph (validated), stages, fingerprints, forced steps and folder.

    Raises:
        PlanError: the pipeline or ``load_groups`` is invalid.
    """
    graph = pipeline.graph()
    plan.validate(graph)
    stages, _ = plan.load_stages(graph, load_groups)
    # Locally the runner gives each replica its devices; on Ray the cluster's scheduler does.
    gpu_plan = assign_gpus(graph, stages) if uses_local_gpus(options.runner) else {}
    store = Store(pipeline.cache_dir)
    dump = pipeline.dump(graph)  # the graph and the fingerprints are computed once per run
    pdir = store.pipeline_dir(pipeline.name, dump["aggregated_steps_signature"])  # = pipeline.folder_key
    return PlannedRun(options, graph, stages, dump, frozenset(forced_steps(graph, options.use_cache)), gpu_plan,
                      store, pdir)


def _finished(planned: PlannedRun, journal: Journal) -> bool:
    """An earlier run of these parameters finished, and this one has nothing to recompute or retry."""
    finished = not planned.forced and journal.finished_with(planned.folder_key)
    return finished and not (planned.options.retry_failed and journal.failed_rows())


def _from_cache(planned: PlannedRun, journal: Journal) -> Distiset:
    logger.info(f"pipeline '{planned.name}' loaded from cache ({planned.pdir}): nothing to compute")
    leaves = {leaf: read_record(planned.pdir, f"batch_manager_steps/{leaf}.json").get("outputs", [])
              for leaf in planned.graph.leaves()}
    # The checkpoint too, when asked for: an earlier run's last export may have failed (writes nothing
    # when the checkpoint already holds every row).
    failed_export = _last_checkpoint(_checkpoints(planned), planned.store, leaves)
    return _finish(_distiset(planned.pdir, planned.store, leaves), step_failures(journal.read().get("steps", {})),
                   planned.options.max_failed_fraction, failed_export)


def _last_checkpoint(checkpoints: CheckpointExport | None | CheckpointError, store: Store,
                     outputs: dict[str, list[Any]]) -> CheckpointError | None:
    """Export every row of a finished run to its checkpoint; the error, if that failed (raised once the
    run's Distiset is built: the run itself finished)."""
    if isinstance(checkpoints, CheckpointError):
        return checkpoints
    try:
        if checkpoints is not None:
            held = checkpoints.export(store, outputs)
            logger.info(f"checkpoint: {held:,} rows in {checkpoints.location}")
    except CheckpointError as exc:
        return exc
    return None


def _prepare(pipeline: Pipeline, planned: PlannedRun, journal: Journal) -> None:
    """Before the first step starts: the LLMs' own checks, the pipeline's files, the warnings."""
    preflight_llms(planned.graph)
    with cache_writes(planned.pdir, "the pipeline's files"):
        store_inline_data(planned.graph, planned.store, journal)
        import_rescued(planned.store)
        journal.mark_unfinished()
        journal.write_pipeline_yaml(planned.dump)
    warn_fresh_llm_steps(planned.graph, planned.forced)
    fire("synthgen_before_pipeline_run", pipeline=pipeline)


def _executor(planned: PlannedRun, log_level: str) -> Executor:
    """The run's executor (no replica started yet).

    Raises:
        ConfigError: an unknown runner or runner option.
        PlanError: the cluster has fewer GPUs than a stage needs.
    """
    options = planned.options
    executor = make_executor(options.runner, planned.store.location, log_level, options.runner_options)
    if not uses_local_gpus(options.runner) and any(node.gpus for node in planned.graph.nodes.values()):
        plan.check_gpus(planned.graph, planned.stages, executor.cluster_gpus())  # type: ignore[attr-defined]
    return executor


def _prespawn(executor: Executor, planned: PlannedRun, journal: Journal) -> None:
    """Start the replicas of the first stage's steps ahead, where the executor can
    (:meth:`~synthgen.runner.local.LocalExecutor.prespawn`): they start up while the run is prepared."""
    prespawn = getattr(executor, "prespawn", None)  # optional: an executor may start replicas only with their step
    if prespawn is None or not planned.stages:
        return
    started = prestarted(planned.graph, planned.forced, journal)
    for name in (n for n in planned.stages[0] if n in started):
        prespawn(name, planned.graph.nodes[name].step.resources.replicas, planned.gpu_plan.get(name))


def _start(planned: PlannedRun, journal: Journal, executor: Executor) -> RunContext:
    """The run folder and the checkpoints of the run, with its executor, in its context."""
    run_dir = interrupts.new_run_dir(planned.store.run_location(planned.name, planned.folder_key))
    checkpoints = _checkpoints(planned)
    if isinstance(checkpoints, CheckpointError):
        raise checkpoints  # before the first request: nothing is paid for a run whose checkpoint cannot be read
    return planned.started(journal, executor, run_dir, checkpoints)


def _checkpoints(planned: PlannedRun) -> CheckpointExport | CheckpointError | None:
    """The run's checkpoint folder, the error if it cannot be read, or None when none was asked for."""
    options = planned.options
    if not options.checkpoint_path:
        return None
    extra = options.checkpoint_strategy.extra_params if options.checkpoint_strategy else {}
    try:
        return CheckpointExport(options.checkpoint_path, planned.folder_key, extra, planned.dump)
    except CheckpointError as exc:
        return exc


def _write_results(ctx: RunContext, scheduler: Scheduler) -> None:
    """The leaves' Parquet files and the journal of a finished run."""
    # `datasets` (the Distiset) takes ~0.9 s to import: now, while Parquet encoding releases the GIL.
    # Not while the steps run: in the driver it would hold the GIL from the scheduling loop that feeds
    # them (a 1M-row run was ~0.5 s slower with it there).
    _warm_import("synthgen.distiset")
    try:
        with cache_writes(ctx.pdir, "the dataset's Parquet files"):
            for leaf in ctx.graph.leaves():
                write_leaf_data(ctx.store, ctx.journal.data_dir, leaf, scheduler.states[leaf].outputs)
    finally:
        ctx.executor.shutdown()  # the last stage's replicas unload and exit while the data is written
    with cache_writes(ctx.pdir, "the run's journal"):
        save_journal(ctx, scheduler, finished=True)
        ctx.journal.clear_offline_jobs()
        ctx.journal.record_run(ctx.dump, ctx.fingerprints(), scheduler.summary(), set(ctx.forced))


def _leaf_outputs(ctx: RunContext, scheduler: Scheduler) -> dict[str, list[tuple[str, int]]]:
    return {leaf: scheduler.states[leaf].outputs for leaf in ctx.graph.leaves()}


def _finish(distiset: Distiset, failures: Failures, max_failed_fraction: float,
            checkpoint_failed: CheckpointError | None = None) -> Distiset:
    """Attach the failed rows to the Distiset; raise when a step has too many of them, or when the
    last checkpoint could not be exported (the error holds the Distiset)."""
    distiset.failures = failures
    if failures:
        logger.warning(failures_line(failures))
    if checkpoint_failed is not None:
        raise CheckpointError(
            f"the run finished and its dataset is in the cache (the error's .distiset holds it), but {checkpoint_failed}."
            " Run the same pipeline again to export the checkpoint: nothing is computed again",
            distiset,
        ) from checkpoint_failed
    raise_if_too_many(failures, max_failed_fraction, distiset)
    return distiset


def _lease(store: Store, name: str, folder_key: str) -> AbstractContextManager[None]:
    """On an object-storage cache, one driver at a time per pipeline (a local run lock covers one machine)."""
    shared = store.shared_pipeline_location(name, folder_key)
    if shared is None:
        return nullcontext()
    from synthgen.blobs import RemoteBlobs
    from synthgen.runner.lease import driver_lease

    return driver_lease(RemoteBlobs(shared), name)


def store_inline_data(graph: plan.Graph, store: Store, journal: Journal) -> None:
    """Write the rows steps hold in their parameters to the store, once, and note their objects in the
    pipeline's folder, where ``synthgen cache gc`` finds them (pipeline.yaml names them by digest)."""
    digests = [d for name in plan.topological_order(graph) for d in graph.nodes[name].step.store_inline_data(store)]
    journal.record_inline_data(digests)


def source_states(graph: plan.Graph) -> dict[str, Any]:
    """Each generator's ``source_state()`` (JSON-able), for the finished-run check."""
    states = {}
    for name, node in graph.nodes.items():
        state = getattr(node.step, "source_state", lambda: None)()
        if state is not None:
            states[name] = json.loads(json.dumps(state, default=str))
    return states


def preflight_llms(graph: plan.Graph) -> None:
    """Problems an LLM can see without a request (a missing API key) stop the run before any step
    runs, so no paid request goes out for a run that would fail at a later stage."""
    for name in plan.topological_order(graph):
        llm = getattr(graph.nodes[name].step, "llm", None)
        if llm is not None and hasattr(llm, "preflight"):
            llm.preflight()


def warn_fresh_llm_steps(graph: plan.Graph, forced: AbstractSet[str]) -> None:
    """use_cache=False on an LLM step sends (and bills) its requests again: say so before the first one."""
    for name in plan.topological_order(graph):
        llm = getattr(graph.nodes[name].step, "llm", None)
        if name not in forced or llm is None:
            continue
        if getattr(llm, "use_offline_batch_generation", False):
            logger.warning(
                f"use_cache=False: step '{name}' will submit its requests as NEW offline batch jobs, billed again. "
                "Collect them with a later run WITHOUT use_cache=False (with it, they are submitted once more)"
            )
        else:
            logger.warning(f"use_cache=False: step '{name}' will send its LLM requests again, and they are billed again")


def _distiset(pdir: Path, store: Store, outputs: dict[str, list[Any]]) -> Distiset:
    """The run's Distiset, memory-mapped from the leaves' Arrow files (or, in a cache written before
    them, from the leaves' cache objects when those are uncompressed), else read from the Parquet files
    of ``data/``."""
    from synthgen.distiset import create_distiset, mapped_distiset

    mapped = mapped_leaf_files(pdir, sorted(outputs))
    if mapped is None:
        files = {leaf: [store.verified_object_file(str(d)) for d, rows in objs if rows] for leaf, objs in outputs.items()}
        if all(path is not None for paths in files.values() for path in paths):
            mapped = {leaf: [p for p in paths if p] for leaf, paths in files.items()}
    distiset = mapped_distiset(mapped, pdir / "pipeline.yaml") if mapped is not None else None
    return distiset if distiset is not None else create_distiset(pdir / "data", pdir / "pipeline.yaml")


def _log_summary(scheduler: Scheduler) -> None:
    for line in summary_lines(scheduler.summary()):
        logger.info(line)


def _warm_import(module: str) -> None:
    threading.Thread(target=importlib.import_module, args=(module,), name="synthgen-warm-import", daemon=True).start()
