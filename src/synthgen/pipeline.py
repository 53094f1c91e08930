"""``Pipeline``: the Python front door. Steps created inside ``with Pipeline(...)`` join it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from synthgen import plan
from synthgen.cache_location import resolve_cache_root
from synthgen.errors import PlanError
from synthgen.names import check_name
from synthgen.routing import RoutingBatchFunction, routing_batch_function, sample_n_steps
from synthgen.steps.base import BaseStep, GeneratorStep, snake_case
from synthgen.steps.context import ActivationToken, PipelineBuilder, activate, active_pipeline, deactivate

if TYPE_CHECKING:
    from synthgen.distiset import Distiset
    from synthgen.runner.checkpoint import CheckpointStrategy

__all__ = ["Pipeline", "RoutingBatchFunction", "routing_batch_function", "sample_n_steps"]


class Pipeline:
    """A DAG of steps that runs over batches of rows and returns a :class:`Distiset`.

    Steps created inside ``with Pipeline(...)`` join it (it is the
    :class:`~synthgen.steps.context.PipelineBuilder` they see).

    Args:
        name: the pipeline's name; with its signature it names the cache folder (letters, digits, '_',
            '.' and '-', not starting with '.': :mod:`synthgen.names`).
        description: free text recorded in pipeline.yaml and the dataset card.
        cache_dir: cache root; defaults to ``$SYNTHGEN_CACHE_DIR`` or ``~/.cache/synthgen/pipelines``.
    """

    def __init__(self, name: str, description: str | None = None, cache_dir: str | Path | None = None) -> None:
        self.name = check_name("pipeline", name)
        self.description = description
        if cache_dir is not None:
            resolve_cache_root(cache_dir)  # a URL the cache cannot use fails here, naming what works
        self.cache_dir = cache_dir
        self.steps: dict[str, BaseStep] = {}
        self.edges: list[tuple[str, str]] = []
        self._name_counts: dict[str, int] = {}
        self._token: ActivationToken[PipelineBuilder | None] | None = None
        self._dataset_loader: GeneratorStep | None = None  # the loader that `run(dataset=...)` added
        self.routes: dict[str, tuple[RoutingBatchFunction, list[str]]] = {}  # upstream -> (router, targets)

    def __getstate__(self) -> dict[str, Any]:
        # Steps travel to their replicas pickled with their pipeline. Routing happens in the driver
        # only, and a routing function may be a local function, which pickle cannot carry.
        return {**self.__dict__, "routes": {}}

    # ---- building --------------------------------------------------------------------------
    @staticmethod
    def current() -> Pipeline | None:
        """The pipeline whose ``with`` block is open, if any."""
        pipeline = active_pipeline()
        return pipeline if isinstance(pipeline, Pipeline) else None

    def __enter__(self) -> Pipeline:
        self._token = activate(self)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._token is not None:
            deactivate(self._token)
            self._token = None

    def add_step(self, step: BaseStep) -> None:
        """Add ``step`` (steps created inside ``with`` add themselves), naming it when it has no name.

        Raises:
            PlanError: another step of this pipeline has the name.
        """
        if step.name is None:
            base = snake_case(type(step).__name__)
            n = self._name_counts.get(base, 0)
            while f"{base}_{n}" in self.steps:
                n += 1
            self._name_counts[base] = n + 1
            step.name = f"{base}_{n}"
        if step.name in self.steps:
            raise PlanError(
                f"step name '{step.name}' is used twice in pipeline '{self.name}': give each step a unique name="
            )
        self.steps[step.name] = step

    def connect(self, upstream: BaseStep, downstream: BaseStep) -> None:
        """Add the edge ``upstream -> downstream`` (what ``upstream >> downstream`` does).

        Raises:
            PlanError: a step is not part of this pipeline, or ``downstream`` is a generator.
        """
        for s in (upstream, downstream):
            if s.name not in self.steps or self.steps[s.name] is not s:
                raise PlanError(f"step '{s.name}' does not belong to pipeline '{self.name}'")
        if isinstance(downstream, GeneratorStep):
            raise PlanError(f"generator step '{downstream.name}' cannot have inputs: connect it as a source only")
        edge = (str(upstream.name), str(downstream.name))
        if edge not in self.edges:
            self.edges.append(edge)

    def route(self, upstream: BaseStep, targets: list[BaseStep], router: RoutingBatchFunction) -> None:
        """Connect ``upstream`` to ``targets`` and route each of its batches through ``router``
        (what ``upstream >> router >> targets`` does).

        Raises:
            PlanError: ``upstream`` is routed already, or a step is not part of this pipeline.
        """
        if upstream.name in self.routes:
            raise PlanError(f"step '{upstream.name}' already has a routing function: one per step")
        for target in targets:
            self.connect(upstream, target)
        self.routes[str(upstream.name)] = (router, [str(t.name) for t in targets])

    # ---- planning --------------------------------------------------------------------------
    def get_load_stages(self, load_groups: plan.LoadGroups = None) -> tuple[list[list[str]], list[list[str]]]:
        """Return ``(stages, groups)``: step names per load stage, in topological order."""
        return plan.load_stages(self.graph(), load_groups)

    def graph(self) -> plan.Graph:
        """The pure description of this pipeline that the planner works on."""
        routes = {u: plan.Route(u, tuple(targets), router.identity, router.choose)
                  for u, (router, targets) in self.routes.items()}
        return plan.Graph.from_steps(self.steps, self.edges, routes)

    @property
    def signature(self) -> str:
        """Hash of step names, types and connections."""
        return plan.pipeline_signature(self.graph())

    @property
    def aggregated_steps_signature(self) -> str:
        """Hash that also covers every step's output-relevant parameters and version."""
        return plan.aggregated_signature(self.graph())

    @property
    def folder_key(self) -> str:
        """What names this pipeline's folder in the cache (``<cache>/<name>/<folder_key>``): the aggregated
        signature, so each parameterization (a sweep job) has a folder, a journal and a dataset of its
        own and runs beside the others; runs of the same parameters share it, one after the other."""
        return self.aggregated_steps_signature

    def dump(self, graph: plan.Graph | None = None) -> dict[str, Any]:
        """The resolved pipeline as plain data (what pipeline.yaml holds); never secrets.

        Args:
            graph: this pipeline's graph when the caller has built it already (a run builds it once).

        Returns:
            The plain data.
        """
        graph = graph or self.graph()
        return {
            "pipeline": {
                "name": self.name,
                "description": self.description,
                "steps": {name: step.dump() for name, step in self.steps.items()},
                "connections": [{"from": a, "to": b} for a, b in self.edges],
                **({"routing": {u: {"to": targets, **router.identity} for u, (router, targets) in self.routes.items()}}
                   if self.routes else {}),
            },
            "signature": plan.pipeline_signature(graph),
            "aggregated_steps_signature": plan.aggregated_signature(graph),
            "provenance": {name: _provenance(step, graph.nodes[name].fingerprint) for name, step in self.steps.items()},
        }

    # ---- running ---------------------------------------------------------------------------
    def run(
        self,
        parameters: dict[str, dict[str, Any]] | None = None,
        load_groups: plan.LoadGroups = None,
        use_cache: bool = True,
        dataset: Any = None,
        checkpoint_strategy: CheckpointStrategy | None = None,
        checkpoint_path: str | None = None,
        runner: str = "local",
        runner_options: dict[str, Any] | None = None,
        retry_failed: bool = True,
        max_failed_fraction: float = 0.5,
        dataset_batch_size: int = 50,
    ) -> Distiset:
        """Run the pipeline and return its :class:`Distiset`.

        Args:
            parameters: runtime parameters per step name, e.g. ``{"gen": {"llm": {"generation_kwargs": {...}}}}``.
            load_groups: lists of step names loaded together, or ``"sequential_step_execution"``.
            use_cache: ``False`` recomputes every step.
            dataset: input rows (``datasets.Dataset``, list of dicts or pandas DataFrame) when the
                pipeline has no generator step.
            checkpoint_strategy: when to export the leaf datasets written so far.
            checkpoint_path: where checkpoints go (local folder or fsspec URL).
            runner: ``local`` (multiprocessing) or ``ray``.
            runner_options: the runner's settings; Ray: ``address`` (a cluster to join; ``RAY_ADDRESS``
                wins) and ``num_cpus`` (of a local instance).
            retry_failed: compute again the batches that an earlier run finished with failed rows (a
                failed LLM call, an unparseable answer); their rows' successful answers come from the
                cache. ``False`` keeps the failed rows as they are.
            max_failed_fraction: raise :class:`RowsFailed` when more than this fraction of any step's
                rows failed (``0`` for strict runs); below it, the failures are in ``distiset.failures``.
            dataset_batch_size: rows per batch that ``dataset`` is cut into.

        Returns:
            The Distiset; ``distiset.failures`` lists the failed rows per step (empty when none failed).

        Raises:
            PlanError: the pipeline cannot run as defined (found before any step runs).
            StepError: a step raised; what was written is kept in the cache.
            RowsFailed: too many rows of a step failed; the exception carries the Distiset.
        """
        from synthgen.runner.run import run_pipeline

        if dataset is not None:
            self._add_input_dataset(dataset, dataset_batch_size)
        self._set_parameters(parameters)
        return run_pipeline(
            self, load_groups=load_groups, use_cache=use_cache, runner=runner,
            checkpoint_strategy=checkpoint_strategy, checkpoint_path=checkpoint_path,
            runner_options=runner_options, retry_failed=retry_failed, max_failed_fraction=max_failed_fraction,
        )

    def dry_run(self, parameters: dict[str, dict[str, Any]] | None = None, batch_size: int = 1,
                dataset: Any = None, use_cache: bool = True, **run_options: Any) -> Distiset:
        """Run one batch of ``batch_size`` rows through every step, to check the pipeline works.

        The dry run has a pipeline folder of its own (``<name>-dry-run``): nothing of it counts as a
        finished run of this pipeline. It shares the store, so the real run pays no LLM request twice.

        Args:
            parameters: runtime parameters per step name, as for :meth:`run`.
            batch_size: rows each generator emits (its first batch only).
            dataset: input rows when the pipeline has no generator step, as for :meth:`run`.
            use_cache: ``False`` recomputes every step of the dry run (and sends its requests again).
            run_options: other arguments of :meth:`run` (``runner``, ``load_groups``, ...).

        Returns:
            The Distiset of the one batch.

        Raises:
            PlanError: the pipeline cannot run as defined.
        """
        from synthgen.dry_run import first_batch_pipeline

        if dataset is not None:
            self._add_input_dataset(dataset, batch_size)
        self._set_parameters(parameters)
        return first_batch_pipeline(self, batch_size).run(use_cache=use_cache, **run_options)

    def _set_parameters(self, parameters: dict[str, dict[str, Any]] | None) -> None:
        for step_name, values in (parameters or {}).items():
            if step_name not in self.steps:
                raise PlanError(plan.unknown_step(step_name, self.steps))
            self.steps[step_name].set_runtime_parameters(values)

    # ---- saving and loading ----------------------------------------------------------------
    def save(self, path: str | Path, format: str = "yaml") -> None:
        """Write the resolved pipeline (what ``pipeline.yaml`` holds, never secrets) to ``path``.

        Args:
            path: the file to write.
            format: ``yaml`` or ``json``.

        Raises:
            ConfigError: an unknown format.
        """
        from synthgen.pipeline_files import save_pipeline
        from synthgen.store import Store

        # The file names inline rows by digest: store them, so that the file runs on its own.
        store = Store(self.cache_dir)
        for step in self.steps.values():
            step.store_inline_data(store)
        save_pipeline(self.dump(), path, format)

    @classmethod
    def from_yaml(cls, path: str | Path, cache_dir: str | Path | None = None) -> Pipeline:
        """Rebuild a pipeline from a YAML file written by :meth:`save` or a run's ``pipeline.yaml``.

        Raises:
            ConfigError: the file is missing, unreadable, or a step's parameters do not validate.
            RegistryError: a step or LLM type is neither registered nor importable.
        """
        from synthgen.pipeline_files import read_pipeline

        return cls.from_dict(read_pipeline(path, "yaml"), cache_dir)

    @classmethod
    def from_json(cls, path: str | Path, cache_dir: str | Path | None = None) -> Pipeline:
        """Rebuild a pipeline from a JSON file written by ``save(path, format="json")``."""
        from synthgen.pipeline_files import read_pipeline

        return cls.from_dict(read_pipeline(path, "json"), cache_dir)

    @classmethod
    def from_dict(cls, data: dict[str, Any], cache_dir: str | Path | None = None) -> Pipeline:
        """Rebuild a pipeline from :meth:`dump`'s plain data (steps by registered name)."""
        from synthgen.building import pipeline_body, populate

        body = pipeline_body(data)
        pipeline = cls(name=str(body.get("name") or "pipeline"), description=body.get("description"),
                       cache_dir=None if cache_dir is None else str(cache_dir))
        populate(pipeline, body)
        return pipeline

    def _add_input_dataset(self, dataset: Any, batch_size: int) -> None:
        """Feed ``dataset`` to the steps without predecessors through a loader (the one an earlier
        ``run(dataset=...)`` added gets the new rows)."""
        from synthgen.steps.loaders import LoadDataFromDicts, rows_from_dataset

        rows = rows_from_dataset(dataset)
        if self._dataset_loader is not None:
            self._dataset_loader.data, self._dataset_loader.batch_size = rows, batch_size  # type: ignore[attr-defined]
            return
        if any(isinstance(s, GeneratorStep) for s in self.steps.values()):
            raise PlanError(f"pipeline '{self.name}' already has a generator step: pass `dataset=` only to pipelines without one")
        roots = [s for n, s in self.steps.items() if not any(b == n for _, b in self.edges)]
        with self:
            self._dataset_loader = LoadDataFromDicts(data=rows, batch_size=batch_size)
        for root in roots:
            self._dataset_loader.connect(root)


def _provenance(step: BaseStep, fingerprint: str) -> dict[str, Any]:
    """Which fingerprint (and model) produces a step's columns: for pipeline.yaml and the dataset card."""
    out: dict[str, Any] = {"fingerprint": fingerprint, "columns": step.output_columns()}
    llm = getattr(step, "llm", None)
    if llm is not None:
        out["model"] = llm.model_name
    return out
