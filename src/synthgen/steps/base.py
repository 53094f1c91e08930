"""The step API: ``Step``, ``GeneratorStep``, ``GlobalStep`` and their resources.

Steps are pydantic models: a step's own parameters are annotated class attributes, validated when the
step is constructed. Parameters annotated ``RuntimeParameter[T]`` may also be set at run time through
``pipeline.run(parameters={step.name: {...}})``.
"""

from __future__ import annotations

import re
from collections.abc import Generator, Iterable
from functools import cache
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, SecretStr, ValidationInfo, field_validator

from synthgen.errors import ConfigError, PlanError
from synthgen.names import check_name

if TYPE_CHECKING:
    from synthgen.pipeline import Pipeline
    from synthgen.store import Store

Row = dict[str, Any]
StepInput = list[Row]
StepOutput = Generator[list[Row], None, None]
GeneratorStepOutput = Generator[tuple[list[Row], bool], None, None]

_RUNTIME = "synthgen:runtime_parameter"
T = TypeVar("T")
RuntimeParameter = Annotated[T, _RUNTIME]
"""Marks a field that may be set at run time: ``batch_size: RuntimeParameter[int] = 50``."""

# Fields that never change a step's output: excluded from fingerprints and signatures.
NON_OUTPUT_FIELDS = frozenset(
    {"name", "class", "resources", "input_batch_size", "batch_size", "use_cache", "max_concurrency",
     "requests_per_minute", "tokens_per_minute", "max_retries", "timeout", "max_tokens_budget",
     "offline_batch_generation_block_until_done", "jobs_ids", "n_threads", "verbose"}
)


def snake_case(name: str) -> str:
    """``LoadDataFromDicts`` -> ``load_data_from_dicts``."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).lower()


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
    members = get_args(annotation) if _is_union(annotation) else (annotation,)
    if str in members:
        return False
    return any(get_origin(m) in (list, tuple, set) and get_args(m)[:1] == (str,) for m in members)


def _is_union(annotation: Any) -> bool:
    return get_origin(annotation) in (Union, getattr(__import__("types"), "UnionType", Union))


class StepResources(BaseModel):
    """Where and how many replicas of a step run; never part of a signature."""

    model_config = ConfigDict(extra="forbid")

    replicas: int = Field(default=1, ge=1)
    cpus: int | None = Field(default=None, ge=1)
    gpus: int | None = Field(default=None, ge=0)
    memory: int | None = Field(default=None, ge=1)


class _Step(BaseModel):
    """What every kind of step shares: naming, connections, mappings, resources, fingerprints."""

    model_config = ConfigDict(arbitrary_types_allowed=True, extra="forbid", validate_assignment=True)

    version: ClassVar[int] = 1
    type_name: ClassVar[str | None] = None
    # Parameters of this class that never change its rows (paths for logs, counters, ...).
    signature_exclude: ClassVar[frozenset[str]] = frozenset()

    name: str | None = None
    input_mappings: dict[str, str] = Field(default_factory=dict)
    output_mappings: dict[str, str] = Field(default_factory=dict)
    resources: StepResources = Field(default_factory=StepResources)
    use_cache: bool = True

    _pipeline: Pipeline | None = PrivateAttr(default=None)

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
        from synthgen.pipeline import Pipeline

        pipeline = Pipeline.current()
        if pipeline is None:
            if self.name is None:
                self.name = f"{snake_case(type(self).__name__)}_0"
            return
        self._pipeline = pipeline
        pipeline._add_step(self)

    # ---- identity -------------------------------------------------------------------------
    @classmethod
    def registered_name(cls) -> str:
        """The name under which the registry knows this class (defaults to its snake_case name)."""
        return cls.__dict__.get("type_name") or snake_case(cls.__name__)

    @property
    def pipeline(self) -> Pipeline | None:
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

    # ---- connections -----------------------------------------------------------------------
    def connect(self, *others: _Step) -> None:
        if self._pipeline is None:
            raise PlanError(f"step '{self.name}' is not inside a `with Pipeline(...)` block, so it cannot be connected")
        for other in others:
            self._pipeline._connect(self, other)

    def __rshift__(self, other: _Step | list[_Step]) -> Any:
        if not isinstance(other, (_Step, list)):
            return NotImplemented  # e.g. a routing batch function: it connects the step itself
        targets = other if isinstance(other, list) else [other]
        self.connect(*targets)
        return other

    def __rrshift__(self, others: list[_Step]) -> _Step:
        for upstream in others:
            upstream.connect(self)
        return self

    # ---- parameters ------------------------------------------------------------------------
    @classmethod
    def runtime_parameter_names(cls) -> list[str]:
        return [name for name, field in cls.model_fields.items() if _RUNTIME in field.metadata]

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
        """Output-relevant parameters: what a fingerprint hashes."""
        dumped = {k: v for k, v in self.dump().items() if k not in type(self).signature_exclude}
        return output_relevant(dumped)

    def store_inline_data(self, store: Store) -> list[str]:
        """Write the rows this step holds in its parameters to ``store`` (once; the runner calls this
        before a run), so that pipeline.yaml and the worker processes carry only their digest.

        Returns:
            The digests of the objects the step's data lives in (none for most steps).

        Raises:
            ConfigError: the step was built from a pipeline.yaml whose rows the cache no longer has.
        """
        return []


def set_runtime_parameters(model: BaseModel, values: dict[str, Any], owner: str) -> None:
    """Set runtime parameters on ``model`` (recursing into nested models such as ``llm``)."""
    valid = type(model).runtime_parameter_names() if hasattr(model, "runtime_parameter_names") else []
    nested = {n for n in type(model).model_fields if isinstance(getattr(model, n), BaseModel)}
    for key, value in values.items():
        if key in nested and isinstance(value, dict) and key not in valid:
            set_runtime_parameters(getattr(model, key), value, f"{owner} {key}")
        elif key in valid:
            try:
                setattr(model, key, value)
            except Exception as exc:  # pydantic ValidationError: say which value is wrong
                raise ConfigError(f"invalid runtime parameter '{key}' for {owner}: {exc}") from None
        else:
            options = sorted(set(valid) | nested)
            raise ConfigError(
                f"unknown runtime parameter '{key}' for {owner}. Valid runtime parameters: {', '.join(options) or 'none'}"
            )


def dump_model(model: BaseModel, exclude: set[str] | None = None) -> dict[str, Any]:
    """Dump a model to plain data, dropping secrets and private fields; nested models keep a ``type``."""
    out: dict[str, Any] = {}
    for name, field in type(model).model_fields.items():
        if exclude and name in exclude or field.exclude:
            continue
        value = getattr(model, name)
        if isinstance(value, SecretStr) or _is_secret(field.annotation):
            continue
        out[name] = _plain(value)
    return out


def _is_secret(annotation: Any) -> bool:
    if annotation is SecretStr:
        return True
    if _is_union(annotation):
        return any(_is_secret(a) for a in get_args(annotation))
    return False


def _plain(value: Any) -> Any:
    if isinstance(value, BaseModel):
        dumped = value.dump() if hasattr(value, "dump") else dump_model(value)
        return dumped
    if isinstance(value, type) and issubclass(value, BaseModel):
        return value.model_json_schema()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if callable(value) and not isinstance(value, (str, int, float, bool)):
        return f"{getattr(value, '__module__', '?')}.{getattr(value, '__qualname__', repr(value))}"
    return value


def output_relevant(dumped: dict[str, Any]) -> dict[str, Any]:
    """Drop parameters that never change the rows a step produces (resources, concurrency, ...)."""
    out: dict[str, Any] = {}
    for key, value in dumped.items():
        if key in NON_OUTPUT_FIELDS:
            continue
        # Recurse into nested models (they dump with a ``type``), not into plain mappings such as
        # input_mappings={"name": "title"}, whose keys are data, never settings.
        out[key] = output_relevant(value) if isinstance(value, dict) and "type" in value else value
    return out


class Step(_Step):
    """A row-wise step: ``process`` receives one list of rows per predecessor and yields output rows."""

    input_batch_size: RuntimeParameter[int] = Field(default=50, ge=1)

    def process(self, *inputs: StepInput) -> StepOutput:  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__}.process is not implemented")


class GlobalStep(Step):
    """Receives every upstream row in one call, after its upstream steps have finished."""


class GeneratorStep(_Step):
    """A source of rows: ``process(offset)`` yields ``(rows, last_batch)``."""

    batch_size: RuntimeParameter[int] = Field(default=50, ge=1)

    def source_state(self) -> Any:
        """What the rows are read from, as it is now (file sizes and modification times, ...), or
        ``None`` when the parameters say it all.

        A finished pipeline is returned from the cache only while this is unchanged. When it changes,
        the generator reruns, and downstream only the batches holding new rows are computed.
        """
        return None

    def process(self, offset: int = 0) -> GeneratorStepOutput:  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__}.process is not implemented")


AnyStep = Union[Step, GeneratorStep]


def step_kind(step: _Step) -> str:
    """``generator``, ``global`` or ``normal``."""
    if isinstance(step, GeneratorStep):
        return "generator"
    return "global" if step.is_global else "normal"

