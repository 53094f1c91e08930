"""What one run of a pipeline works with, as one object: the runner passes a context, not a list of
a dozen arguments.

:class:`RunOptions` is what the caller chose (the arguments of :meth:`Pipeline.run`); :class:`PlannedRun`
is what the run will do, decided before it takes the pipeline folder's lock; :class:`RunContext` is a
planned run that has started: its journal, its executor and its run folder.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from synthgen import plan
    from synthgen.runner.checkpoint import CheckpointExport, CheckpointStrategy
    from synthgen.runner.journal import Journal
    from synthgen.runner.loop import Executor
    from synthgen.store import Store


@dataclass(frozen=True)
class RunOptions:
    """How the caller asked for the run (see :meth:`Pipeline.run`)."""

    use_cache: bool = True
    retry_failed: bool = True  # batches recorded with failed rows are computed again
    max_failed_fraction: float = 0.5
    runner: str = "local"  # a registered executor (runner.executors)
    runner_options: Mapping[str, Any] | None = None
    checkpoint_strategy: CheckpointStrategy | None = None
    checkpoint_path: str | None = None


@dataclass(frozen=True)
class PlannedRun:
    """The run, planned: nothing has been locked, written or started yet."""

    options: RunOptions
    graph: plan.Graph
    stages: list[list[str]]
    dump: dict[str, Any]  # pipeline.yaml: the graph and its fingerprints, computed once per run
    forced: frozenset[str]  # steps that recompute whatever the cache holds
    gpu_plan: Mapping[str, list[list[str]]]  # local devices per replica ({} when a cluster places them)
    store: Store
    pdir: Path  # the pipeline folder: <name>/<aggregated signature>

    @property
    def name(self) -> str:
        """The pipeline's name."""
        return str(self.dump["pipeline"]["name"])

    @property
    def folder_key(self) -> str:
        """The aggregated steps signature, which names the pipeline folder."""
        return str(self.dump["aggregated_steps_signature"])

    def fingerprints(self) -> dict[str, str]:
        """Each step's fingerprint."""
        return {name: node.fingerprint for name, node in self.graph.nodes.items()}

    def started(self, journal: Journal, executor: Executor, run_dir: str,
                checkpoints: CheckpointExport | None) -> RunContext:
        """This run with what it runs with once it holds the pipeline folder.

        Args:
            journal: the pipeline folder's records.
            executor: where the step replicas run.
            run_dir: the run folder the replicas share (stop request, spending).
            checkpoints: where checkpoints go, or None.

        Returns:
            The run's context.
        """
        planned = {f.name: getattr(self, f.name) for f in fields(PlannedRun)}
        return RunContext(**planned, journal=journal, executor=executor, run_dir=run_dir, checkpoints=checkpoints)


@dataclass(frozen=True)
class RunContext(PlannedRun):
    """A run in progress: the plan, and the journal, executor and run folder it runs with."""

    journal: Journal
    executor: Executor
    run_dir: str
    checkpoints: CheckpointExport | None = None
