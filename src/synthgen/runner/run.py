"""``run_pipeline``: plan, lock the cache folder, run the load stages, write the leaf data."""

from __future__ import annotations

import importlib
import json
import threading
import time
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loguru import logger

from synthgen import interrupts, plan
from synthgen.errors import OfflineBatchGenerationNotFinished, PipelineInterrupted, SynthgenError
from synthgen.llms.rescue import import_rescued
from synthgen.logging import setup_logging
from synthgen.plugins import fire
from synthgen.runner.checkpoint import CheckpointExport, CheckpointStrategy
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
from synthgen.runner.journal import Journal, read_record, run_lock, write_leaf_data
from synthgen.runner.loop import Executor, Scheduler
from synthgen.runner.progress import Progress
from synthgen.runner.signals import graceful_sigint
from synthgen.store import Store
from synthgen.write_errors import cache_writes, write_error

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
    check_fraction(max_failed_fraction)
    log_level = setup_logging()
    _warm_import("synthgen.distiset")  # `datasets` takes ~0.5 s to import: do it while the steps run
    graph = pipeline.graph()
    plan.validate(graph)
    stages, _ = plan.load_stages(graph, load_groups)
    # Locally the runner gives each replica its devices; on Ray the cluster's scheduler does.
    gpu_plan = assign_gpus(graph, stages) if uses_local_gpus(runner) else {}
    store = Store(pipeline.cache_dir)
    dump = pipeline.dump(graph)  # the graph and the fingerprints are computed once per run
    folder_key = dump["aggregated_steps_signature"]  # = pipeline.folder_key
    pdir = store.pipeline_dir(pipeline.name, folder_key)
    forced = forced_steps(graph, use_cache)
    with run_lock(pdir, pipeline.name), _lease(store, pipeline.name, folder_key):
        journal = Journal(pdir, source_states(graph), {n: node.fingerprint for n, node in graph.nodes.items()})
        finished = not forced and journal.finished_with(dump["aggregated_steps_signature"])
        if finished and not (retry_failed and journal.failed_rows()):
            logger.info(f"pipeline '{pipeline.name}' loaded from cache ({pdir}): nothing to compute")
            leaves = {leaf: read_record(pdir, f"batch_manager_steps/{leaf}.json").get("outputs", [])
                      for leaf in graph.leaves()}
            return _finish(_distiset(pdir, store, leaves), step_failures(journal.read().get("steps", {})),
                           max_failed_fraction)
        preflight_llms(graph)
        with cache_writes(pdir, "the pipeline's files"):
            store_inline_data(graph, store, journal)
            import_rescued(store)
            journal.mark_unfinished()
            journal.write_pipeline_yaml(dump)
        warn_fresh_llm_steps(graph, forced)
        fire("synthgen_before_pipeline_run", pipeline=pipeline)
        executor = make_executor(runner, store.location, log_level, runner_options)
        if not uses_local_gpus(runner) and any(node.gpus for node in graph.nodes.values()):
            plan.check_gpus(graph, stages, executor.cluster_gpus())  # type: ignore[attr-defined]
        run_dir = interrupts.new_run_dir(store.run_location(pipeline.name, folder_key))
        checkpoints = (CheckpointExport(checkpoint_path, folder_key, checkpoint_strategy.extra_params
                                        if checkpoint_strategy else {}, dump) if checkpoint_path else None)
        scheduler = _execute(graph, stages, store, journal, dump, forced, gpu_plan, executor,
                             checkpoint_strategy, checkpoints, run_dir, retry_failed)
        try:
            with cache_writes(journal.pdir, "the dataset's Parquet files"):
                for leaf in graph.leaves():
                    write_leaf_data(store, journal.data_dir, leaf, scheduler.states[leaf].outputs)
        finally:
            executor.shutdown()  # the last stage's replicas unload and exit while the data is written
        if checkpoints is not None:
            checkpoints.export(store, {leaf: scheduler.states[leaf].outputs for leaf in graph.leaves()})
        with cache_writes(journal.pdir, "the run's journal"):
            _save(journal, dump, stages, scheduler, finished=True)
            journal.clear_offline_jobs()
            journal.record_run(dump, {n: node.fingerprint for n, node in graph.nodes.items()}, scheduler.summary(),
                               forced)
    distiset = _distiset(pdir, store, {leaf: scheduler.states[leaf].outputs for leaf in graph.leaves()})
    _log_summary(scheduler)
    fire("synthgen_after_pipeline_run", pipeline=pipeline, distiset=distiset)
    return _finish(distiset, step_failures(scheduler.summary()), max_failed_fraction)


def _finish(distiset: Distiset, failures: Failures, max_failed_fraction: float) -> Distiset:
    """Attach the failed rows to the Distiset; raise when a step has too many of them."""
    distiset.failures = failures
    if failures:
        logger.warning(failures_line(failures))
    raise_if_too_many(failures, max_failed_fraction, distiset)
    return distiset


def _execute(graph: plan.Graph, stages: list[list[str]], store: Store, journal: Journal, dump: dict[str, Any],
             forced: set[str], gpu_plan: dict[str, list[list[str]]], executor: Executor,
             strategy: CheckpointStrategy | None, checkpoints: CheckpointExport | None, run_dir: str,
             retry_failed: bool = True) -> Scheduler:
    progress = Progress(list(graph.nodes))
    scheduler = Scheduler(graph, store, executor, forced, gpu_plan, progress, retry_failed)
    # Steps an earlier run got through start on their first cache miss (maybe never); the others
    # start with their stage, all at once.
    scheduler.prestart = {n for n in graph.nodes if n in forced or not journal.has_progress(n)}
    scheduler.on_release = journal.log_output
    scheduler.run_dir = run_dir
    if strategy and checkpoints:
        scheduler.on_tick = lambda: _checkpoint(scheduler, graph, store, strategy, checkpoints)
    started = time.monotonic()
    try:
        with graceful_sigint(scheduler.interrupt, lambda: executor.shutdown(force=True)):
            for i, stage in enumerate(stages):
                logger.info(f"load stage {i + 1}/{len(stages)}: {', '.join(stage)}")
                scheduler.run_stage(stage, join=i < len(stages) - 1)
    except PipelineInterrupted:
        executor.shutdown()  # in-flight batches are written: let every replica unload, then end
        _save_after_error(journal, dump, stages, scheduler)
        raise PipelineInterrupted(
            f"pipeline '{dump['pipeline']['name']}' stopped by Ctrl+C; every finished batch is in the cache "
            f"at {journal.pdir}. Run the same pipeline again to resume where it stopped"
        ) from None
    except OfflineBatchGenerationNotFinished as exc:
        executor.shutdown(force=True)
        _save_after_error(journal, dump, stages, scheduler)
        _record_pending_jobs(graph, journal, exc)
        raise
    except BaseException as exc:
        _wind_down(scheduler, executor, exc)
        _save_after_error(journal, dump, stages, scheduler)
        if isinstance(exc, OSError):  # the journal's log of released batches (the driver's own writes)
            raise write_error(exc, journal.pdir, "the run's journal") from exc
        if isinstance(exc, SynthgenError) and getattr(exc, "step_name", None):
            fire("synthgen_on_step_error", step=graph.nodes[exc.step_name].step, error=exc)  # type: ignore[attr-defined]
        raise
    finally:
        scheduler.claims.close()
        progress.close()
    scheduler.elapsed = time.monotonic() - started
    return scheduler


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


def warn_fresh_llm_steps(graph: plan.Graph, forced: set[str]) -> None:
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


def _record_pending_jobs(graph: plan.Graph, journal: Journal, exc: OfflineBatchGenerationNotFinished) -> None:
    """Pending job ids go to the LLM's ``jobs_ids`` and the pipeline's folder (``synthgen batch``)."""
    if exc.step_name is None:
        return
    llm = getattr(graph.nodes[exc.step_name].step, "llm", None)
    if llm is not None and hasattr(llm, "jobs_ids"):
        llm.jobs_ids = exc.jobs_ids
    journal.record_offline_jobs(exc.step_name, exc.jobs_ids)


def _save(journal: Journal, dump: dict[str, Any], stages: list[list[str]], scheduler: Scheduler, finished: bool) -> None:
    outputs = {n: st.outputs for n, st in scheduler.states.items()}
    journal.save(dump, stages, scheduler.summary(), outputs, finished)


def _wind_down(scheduler: Scheduler, executor: Executor, exc: BaseException) -> None:
    """End the replicas after an error. The requests they have in flight were paid for: unless the user
    pressed Ctrl+C twice, they stop sending, let those answers land in the cache (or the rescue folder,
    when the disk is full), and then end."""
    if isinstance(exc, KeyboardInterrupt):
        executor.shutdown(force=True)
        return
    scheduler.interrupt()
    executor.shutdown()


def _save_after_error(journal: Journal, dump: dict[str, Any], stages: list[list[str]], scheduler: Scheduler) -> None:
    """Save what an ended run did, unless the disk that ended it cannot take that either: the store
    alone is enough to resume, and the first error is the one to report."""
    try:
        _save(journal, dump, stages, scheduler, finished=False)
    except OSError as exc:
        logger.warning(f"the run's journal could not be saved ({exc.strerror}); the cache is enough to resume")


def _checkpoint(scheduler: Scheduler, graph: plan.Graph, store: Store, strategy: CheckpointStrategy,
                checkpoints: CheckpointExport) -> None:
    leaves = graph.leaves()
    rows = sum(r for leaf in leaves for _, r in scheduler.states[leaf].outputs)

    def export() -> None:
        held = checkpoints.export(store, {leaf: scheduler.states[leaf].outputs for leaf in leaves})
        logger.info(f"checkpoint: {held:,} rows in {checkpoints.location}")

    strategy.maybe_export(rows, export)


def _distiset(pdir: Path, store: Store, outputs: dict[str, list[Any]]) -> Distiset:
    """The run's Distiset, memory-mapped from the leaves' cache objects when they are local and intact,
    else read from the Parquet files of ``data/``."""
    from synthgen.distiset import create_distiset, mapped_distiset

    files = {leaf: [store.verified_object_file(str(d)) for d, rows in objs if rows] for leaf, objs in outputs.items()}
    if all(path is not None for paths in files.values() for path in paths):
        mapped = mapped_distiset({leaf: [p for p in paths if p] for leaf, paths in files.items()}, pdir / "pipeline.yaml")
        if mapped is not None:
            return mapped
    return create_distiset(pdir / "data", pdir / "pipeline.yaml")


def _log_summary(scheduler: Scheduler) -> None:
    for line in summary_lines(scheduler.summary()):
        logger.info(line)


def _warm_import(module: str) -> None:
    threading.Thread(target=importlib.import_module, args=(module,), name="synthgen-warm-import", daemon=True).start()
