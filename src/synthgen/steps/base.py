"""The step API: ``BaseStep`` and its kinds ``Step``, ``GeneratorStep``, ``GlobalStep``, and their resources.

Steps are pydantic models: a step's own parameters are annotated class attributes, validated when the
step is constructed. Parameters annotated ``RuntimeParameter[T]`` may also be set at run time through
``pipeline.run(parameters={step.name: {...}})``; parameters annotated ``Fingerprint.IGNORE`` never change
the rows, so changing them reuses the cache (:mod:`synthgen.fields`). :class:`BaseStep` is what every
kind of step shares; a step joins the pipeline being built through :mod:`synthgen.steps.context`.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Generator, Iterable, Iterator
from functools import cache
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationInfo, field_validator

from synthgen.errors import PlanError
from synthgen.fields import (
    Fingerprint,
    RuntimeParameter,
    dump_model,
    fingerprint_data,
    is_union,
    runtime_parameter_names,
    set_runtime_parameters,
)
from synthgen.names import check_name, snake_case
from synthgen.steps.context import PipelineBuilder, active_pipeline

if TYPE_CHECKING:
    from synthgen.store import Store

__all__ = ["BaseStep", "Step", "GlobalStep", "GeneratorStep", "StepResources", "RuntimeParameter", "Fingerprint",
           "Row", "StepInput", "StepOutput", "GeneratorStepOutput", "AnyStep", "dump_model",
           "set_runtime_parameters", "snake_case", "normalize_columns", "string_list_fields", "step_kind"]

Row = dict[str, Any]
StepInput = list[Row]
StepOutput = Generator[list[Row], None, None]
GeneratorStepOutput = Generator[tuple[list[Row], bool], None, None]


def normalize_columns(spec: Iterable[str] | dict[str, bool]) -> dict[str, bool]:
    """A list of names or a mapping name -> required, as a mapping name -> required."""
    if isinstance(spec, dict):
        return dict(spec)
    return {column: True for column in spec}


@cache
def string_list_fields(cls: type[BaseModel]) -> frozenset[str]:
    """Fields of ``cls`` typed as a list of strings that do not also take a plain string."""
    return frozenset(name for name, field in cls.model_fields.items() if _takes_str_list_only(field.annotation))


def _takes_str_list_only(annotation: Any) -> bool:
    members = get_args(annotation) if is_union(annotation) else (annotation,)
    if str in members:
        return False
    return any(get_origin(m) in (list, tuple, set) and get_args(m)[:1] == (str,) for m in members)


class StepResources(BaseModel):
    """Where and how many replicas of a step run; never part of a signature."""

    model_config = ConfigDict(extra="forbid")

    replicas: int = Field(default=1, ge=1)
    cpus: int | None = Field(default=None, ge=1)
    gpus: int | None = Field(default=None, ge=0)
    memory: int | None = Field(default=None, ge=1)


class BaseStep(BaseModel):
    """What every kind of step shares: naming, connections, mappings, resources, fingerprints.

    Derive from :class:`Step` (rows in, rows out), :class:`GlobalStep` (every row at once) or
    :class:`GeneratorStep` (a source of rows), which say what ``process`` receives and yields.
    Parameters are annotated fields; mark those that never change the rows
    ``Annotated[T, Fingerprint.IGNORE]`` (every other one is part of the step's fingerprint).

    Class attributes:
        version: bump it when a change of the code changes the rows: the cache is then recomputed.
        type_name: the registered name (defaults to the snake_case class name).
    """

    model_config = ConfigDict(arbitrary_types_allowed=True, extra="forbid", validate_assignment=True)

    version: ClassVar[int] = 1
    type_name: ClassVar[str | None] = None

    name: Annotated[str | None, Fingerprint.IGNORE] = None
    input_mappings: dict[str, str] = Field(default_factory=dict)
    output_mappings: dict[str, str] = Field(default_factory=dict)
    resources: Annotated[StepResources, Fingerprint.IGNORE] = Field(default_factory=StepResources)
    use_cache: Annotated[bool, Fingerprint.IGNORE] = True

    _pipeline: PipelineBuilder | None = PrivateAttr(default=None)

    @field_validator("name")
    @classmethod
    def _name_is_a_plain_name(cls, name: str | None) -> str | None:
        # A step's name becomes folder and file names in the cache (its leaf data, its journal).
        return None if name is None else check_name("step", name)

    @field_validator("*", mode="before")
    @classmethod
    def _lone_name_as_list(cls, value: Any, info: ValidationInfo) -> Any:
        # distilabel accepts one column name where a list of names goes (``columns="page"``).
        if isinstance(value, str) and info.field_name in string_list_fields(cls):
            return [value]
        return value

    def model_post_init(self, __context: Any) -> None:
        pipeline = active_pipeline()
        if pipeline is None:
            if self.name is None:
                self.name = f"{snake_case(type(self).__name__)}_0"
            return
        self._pipeline = pipeline
        pipeline.add_step(self)

    # ---- identity -------------------------------------------------------------------------
    @classmethod
    def registered_name(cls) -> str:
        """The name under which the registry knows this class (defaults to its snake_case name)."""
        return cls.__dict__.get("type_name") or snake_case(cls.__name__)

    @property
    def pipeline(self) -> PipelineBuilder | None:
        """The pipeline this step was created in (``None`` outside a ``with Pipeline(...)`` block)."""
        return self._pipeline

    # ---- columns ---------------------------------------------------------------------------
    @property
    def inputs(self) -> list[str] | dict[str, bool]:
        return []

    @property
    def outputs(self) -> list[str] | dict[str, bool]:
        return []

    def input_columns(self) -> dict[str, bool]:
        """Input columns as seen upstream, after ``input_mappings``."""
        return {self.input_mappings.get(c, c): req for c, req in normalize_columns(self.inputs).items()}

    def output_columns(self) -> list[str]:
        """Output columns as seen downstream, after ``output_mappings``."""
        return [self.output_mappings.get(c, c) for c in normalize_columns(self.outputs)]

    def columns_after(self, incoming: set[str] | None) -> set[str] | None:
        """Columns a row carries after this step: what came in plus what it adds.

        ``None`` means unknown (a loader whose columns are only known once it reads its data).
        """
        if incoming is None:
            return None
        return set(incoming) | set(self.output_columns())

    # ---- lifecycle -------------------------------------------------------------------------
    @property
    def is_global(self) -> bool:
        """Whether the step receives every upstream row in one call (a :class:`GlobalStep`, or a task
        whose LLM submits offline batch jobs)."""
        return isinstance(self, GlobalStep)

    def load(self) -> None:
        """Called once per replica before the first batch (acquire models, clients, files)."""

    def unload(self) -> None:
        """Called once per replica after the last batch (free GPUs, close clients)."""

    @abstractmethod
    def process(self, *args: Any, **kwargs: Any) -> Iterator[Any]:
        """Produce the step's rows: what it receives and yields depends on the kind of step
        (:meth:`Step.process`, :meth:`GeneratorStep.process`, which subclasses override)."""

    # ---- connections -----------------------------------------------------------------------
    def connect(self, *others: BaseStep) -> None:
        """Connect this step to each of ``others`` (what ``self >> others`` does).

        Raises:
            PlanError: the step was not created inside a ``with Pipeline(...)`` block.
        """
        if self._pipeline is None:
            raise PlanError(f"step '{self.name}' is not inside a `with Pipeline(...)` block, so it cannot be connected")
        for other in others:
            self._pipeline.connect(self, other)

    def __rshift__(self, other: BaseStep | list[BaseStep]) -> Any:
        if not isinstance(other, (BaseStep, list)):
            return NotImplemented  # e.g. a routing batch function: it connects the step itself
        targets = other if isinstance(other, list) else [other]
        self.connect(*targets)
        return other

    def __rrshift__(self, others: list[BaseStep]) -> BaseStep:
        for upstream in others:
            upstream.connect(self)
        return self

    # ---- parameters ------------------------------------------------------------------------
    @classmethod
    def runtime_parameter_names(cls) -> list[str]:
        """The fields declared ``RuntimeParameter[...]``."""
        return runtime_parameter_names(cls)

    def runtime_parameters(self) -> dict[str, Any]:
        """Names of settable runtime parameters, nested for attached LLMs."""
        params: dict[str, Any] = {n: getattr(self, n) for n in self.runtime_parameter_names()}
        for name in type(self).model_fields:
            value = getattr(self, name)
            nested = getattr(value, "runtime_parameters", None)
            if isinstance(value, BaseModel) and callable(nested):
                params[name] = nested()
        return params

    def set_runtime_parameters(self, values: dict[str, Any]) -> None:
        """Apply ``values``; an unknown name is an error listing the valid ones."""
        set_runtime_parameters(self, values, f"step '{self.name}'")

    def dump(self) -> dict[str, Any]:
        """Plain-data description of the step (no secrets), for pipeline.yaml."""
        cls = type(self)
        return {"type": cls.registered_name(), "class": f"{cls.__module__}:{cls.__qualname__}",
                **dump_model(self, exclude={"name"})}

    def fingerprint_params(self) -> dict[str, Any]:
        """Output-relevant parameters: what a fingerprint hashes (fields not declared
        ``Fingerprint.IGNORE``; a nested LLM by its own ``fingerprint_params()``)."""
        return fingerprint_data(self, self.dump())

    def store_inline_data(self, store: Store) -> list[str]:
        """Write the rows this step holds in its parameters to ``store`` (once; the runner calls this
        before a run), so that pipeline.yaml and the worker processes carry only their digest.

        Returns:
            The digests of the objects the step's data lives in (none for most steps).

        Raises:
            ConfigError: the step was built from a pipeline.yaml whose rows the cache no longer has.
        """
        return []


class Step(BaseStep):
    """A row-wise step: ``process`` receives one list of rows per predecessor and yields output rows."""

    input_batch_size: Annotated[RuntimeParameter[int], Fingerprint.IGNORE] = Field(default=50, ge=1)

    def process(self, *inputs: StepInput) -> StepOutput:
        """Yield output rows (lists of dicts) for ``inputs``: one list of rows per predecessor.

        Raises:
            NotImplementedError: the subclass does not implement it.
        """
        raise NotImplementedError(f"{type(self).__name__}.process is not implemented")


class GlobalStep(Step):
    """Receives every upstream row in one call, after its upstream steps have finished."""


class GeneratorStep(BaseStep):
    """A source of rows: ``process(offset)`` yields ``(rows, last_batch)``."""

    batch_size: Annotated[RuntimeParameter[int], Fingerprint.IGNORE] = Field(default=50, ge=1)

    def source_state(self) -> Any:
        """What the rows are read from, as it is now (file sizes and modification times, ...), or
        ``None`` when the parameters say it all.

        A finished pipeline is returned from the cache only while this is unchanged. When it changes,
        the generator reruns, and downstream only the batches holding new rows are computed.
        """
        return None

    def process(self, offset: int = 0) -> GeneratorStepOutput:
        """Yield ``(rows, last_batch)`` from row ``offset`` of the source on.

        Raises:
            NotImplementedError: the subclass does not implement it.
        """
        raise NotImplementedError(f"{type(self).__name__}.process is not implemented")


AnyStep = Union[Step, GeneratorStep]


def step_kind(step: BaseStep) -> Literal["generator", "global", "normal"]:
    """How the loop feeds the step (the values of :class:`synthgen.plan.StepKind`)."""
    if isinstance(step, GeneratorStep):
        return "generator"
    return "global" if step.is_global else "normal"

