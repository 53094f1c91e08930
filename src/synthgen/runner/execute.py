"""Running the load stages of a started run, and how a run that ends early leaves its pipeline folder.

Whatever ends a run (Ctrl+C, a spent budget, pending offline jobs, a failed step, a full disk), the
replicas end, the journal records what was done, and the error says how to resume.
"""

from __future__ import annotations

from collections.abc import Set as AbstractSet

from loguru import logger

from synthgen.errors import (
    CheckpointError,
    OfflineBatchGenerationNotFinished,
    PipelineInterrupted,
    SynthgenError,
)
from synthgen.plan import Graph, StepKind
from synthgen.plugins import fire
from synthgen.runner.context import RunContext
from synthgen.runner.journal import Journal
from synthgen.runner.loop import Scheduler
from synthgen.runner.progress import Progress
from synthgen.runner.signals import graceful_sigint
from synthgen.write_errors import write_error


def execute(ctx: RunContext) -> Scheduler:
    """Run every load stage of ``ctx`` on its executor.

    Returns:
        The scheduler, which holds each step's outputs and the run's summary.

    Raises:
        PipelineInterrupted: Ctrl+C (every finished batch is in the cache).
        OfflineBatchGenerationNotFinished: offline batch jobs are still pending (their ids are recorded).
        StepError: a step failed (the ``synthgen_on_step_error`` hooks ran).
    """
    progress = Progress(list(ctx.graph.nodes))
    prestart = prestarted(ctx.graph, ctx.forced, ctx.journal)
    scheduler = Scheduler(ctx, progress, prestart=prestart, on_release=ctx.journal.log_output,
                          on_tick=_checkpoint if ctx.options.checkpoint_strategy and ctx.checkpoints else None)
    try:
        with graceful_sigint(scheduler.interrupt, lambda: ctx.executor.shutdown(force=True)):
            _run_stages(ctx, scheduler)
    except BaseException as exc:
        _end_early(ctx, scheduler, exc)
        raise
    finally:
        scheduler.claims.close()
        progress.close()
    return scheduler


def prestarted(graph: Graph, forced: AbstractSet[str], journal: Journal) -> set[str]:
    """The steps that start with their stage, all at once: those an earlier run did not get through.
    The others start on their first cache miss (maybe never), and generators always start."""
    return {name for name, node in graph.nodes.items()
            if name in forced or node.kind == StepKind.GENERATOR or not journal.has_progress(name)}


def _run_stages(ctx: RunContext, scheduler: Scheduler) -> None:
    for i, stage in enumerate(ctx.stages):
        logger.info(f"load stage {i + 1}/{len(ctx.stages)}: {', '.join(stage)}")
        scheduler.run_stage(stage, join=i < len(ctx.stages) - 1)


def _end_early(ctx: RunContext, scheduler: Scheduler, exc: BaseException) -> None:
    """End the replicas and save the journal after ``exc``; raise the error the user should see
    instead of ``exc``, if any (``exc`` itself is raised by the caller)."""
    if isinstance(exc, PipelineInterrupted):
        ctx.executor.shutdown()  # in-flight batches are written: let every replica unload, then end
        save_after_error(ctx, scheduler)
        raise PipelineInterrupted(
            f"pipeline '{ctx.name}' stopped by Ctrl+C; every finished batch is in the cache "
            f"at {ctx.journal.pdir}. Run the same pipeline again to resume where it stopped"
        ) from None
    if isinstance(exc, OfflineBatchGenerationNotFinished):
        ctx.executor.shutdown(force=True)
        save_after_error(ctx, scheduler)
        _record_pending_jobs(ctx, exc)
        return
    _wind_down(ctx, scheduler, exc)
    save_after_error(ctx, scheduler)
    if isinstance(exc, OSError):  # the journal's log of released batches (the driver's own writes)
        raise write_error(exc, ctx.journal.pdir, "the run's journal") from exc
    if isinstance(exc, SynthgenError) and getattr(exc, "step_name", None):
        fire("synthgen_on_step_error", step=ctx.graph.nodes[exc.step_name].step, error=exc)  # type: ignore[attr-defined]


def _wind_down(ctx: RunContext, scheduler: Scheduler, exc: BaseException) -> None:
    """End the replicas after an error. The requests they have in flight were paid for: unless the user
    pressed Ctrl+C twice, they stop sending, let those answers land in the cache (or the rescue folder,
    when the disk is full), and then end."""
    if isinstance(exc, KeyboardInterrupt):
        ctx.executor.shutdown(force=True)
        return
    scheduler.interrupt()
    ctx.executor.shutdown()


def _record_pending_jobs(ctx: RunContext, exc: OfflineBatchGenerationNotFinished) -> None:
    """Pending job ids go to the LLM's ``jobs_ids`` and the pipeline's folder (``synthgen batch``)."""
    if exc.step_name is None:
        return
    llm = getattr(ctx.graph.nodes[exc.step_name].step, "llm", None)
    if llm is not None and hasattr(llm, "jobs_ids"):
        llm.jobs_ids = exc.jobs_ids
    ctx.journal.record_offline_jobs(exc.step_name, exc.jobs_ids)


def save_journal(ctx: RunContext, scheduler: Scheduler, finished: bool) -> None:
    """Record the run's stages, each step's summary and outputs in the pipeline folder."""
    outputs = {n: st.outputs for n, st in scheduler.states.items()}
    ctx.journal.save(ctx.dump, ctx.stages, scheduler.summary(), outputs, finished)


def save_after_error(ctx: RunContext, scheduler: Scheduler) -> None:
    """Save what an ended run did, unless the disk that ended it cannot take that either: the store
    alone is enough to resume, and the first error is the one to report."""
    try:
        save_journal(ctx, scheduler, finished=False)
    except OSError as exc:
        logger.warning(f"the run's journal could not be saved ({exc.strerror}); the cache is enough to resume")


def _checkpoint(scheduler: Scheduler) -> None:
    """Export the leaves' rows when the checkpoint strategy says it is time."""
    ctx = scheduler.ctx
    assert ctx.options.checkpoint_strategy is not None and ctx.checkpoints is not None
    checkpoints, leaves = ctx.checkpoints, ctx.graph.leaves()
    rows = sum(r for leaf in leaves for _, r in scheduler.states[leaf].outputs)

    def export() -> None:
        try:
            held = checkpoints.export(ctx.store, {leaf: scheduler.states[leaf].outputs for leaf in leaves})
        except CheckpointError as exc:
            # A checkpoint is a copy: a bucket or Hub that fails for a while must not stop a paid run. The
            # strategy waits as after an export, and the next one writes every row not exported yet.
            logger.warning(f"{exc}. The run goes on; the next checkpoint writes these rows too")
            return
        logger.info(f"checkpoint: {held:,} rows in {checkpoints.location}")

    ctx.options.checkpoint_strategy.maybe_export(rows, export)
