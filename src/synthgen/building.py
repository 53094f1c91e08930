"""Steps, LLMs and connections from plain data (a composed config or a pipeline.yaml), into a pipeline.

This module sees only plain dicts, never Hydra or OmegaConf objects, so the same code rebuilds a
recorded ``pipeline.yaml`` and a config composed by Hydra: both yield the same signatures as the
pipeline written in Python. It sits below :mod:`synthgen.pipeline` (whose ``from_dict`` calls it with
the pipeline to fill) and never imports it.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from synthgen.errors import ConfigError, PlanError, RegistryError, did_you_mean

if TYPE_CHECKING:
    from synthgen.pipeline import Pipeline

# Keys that describe a step rather than set one of its parameters.
_META_KEYS = ("type", "class")


def pipeline_body(spec: Mapping[str, Any]) -> Mapping[str, Any]:
    """The pipeline part of ``spec``: ``{"name", "description", "steps", "connections", "routing"}``.

    Args:
        spec: that mapping, or the whole ``pipeline.yaml`` document (``{"pipeline": {...}, "signature": ...}``).

    Raises:
        ConfigError: it has no steps.
    """
    body = spec.get("pipeline", spec) if isinstance(spec.get("pipeline"), Mapping) else spec
    steps = body.get("steps") or {}
    if not isinstance(steps, Mapping) or not steps:
        raise ConfigError("the pipeline has no steps: add them under `steps:` as `<name>: {type: <step type>, ...}`")
    return body


def populate(pipeline: Pipeline, body: Mapping[str, Any]) -> None:
    """Construct ``body``'s steps in ``pipeline``, resolving step and LLM types through the registry, and
    connect and route them.

    Raises:
        ConfigError: a step or LLM parameter is missing, unknown or of the wrong type.
        RegistryError: a step or LLM type is not registered and has no importable ``class``.
        PlanError: a connection names an unknown step.
    """
    with pipeline:
        built = {name: build_step(str(name), params) for name, params in body["steps"].items()}
    for upstream, downstream in iter_connections(body.get("connections") or [], built):
        built[upstream].connect(built[downstream])
    for upstream, route in (body.get("routing") or {}).items():
        build_route(pipeline, str(upstream), route, built)


def build_route(pipeline: Pipeline, upstream: str, route: Any, steps: Mapping[str, Any]) -> None:
    """Route ``upstream``'s batches as pipeline.yaml's ``routing:`` records it.

    Raises:
        ConfigError: the entry is malformed or its function cannot be imported.
        PlanError: it names an unknown step.
    """
    from synthgen.routing import router_from_identity

    if not isinstance(route, Mapping) or not isinstance(route.get("to"), list) or "function" not in route:
        raise ConfigError(f"routing of step '{upstream}' must be {{to: [<step>, ...], function: ...}}, got {route!r}")
    for name in (upstream, *route["to"]):
        if name not in steps:
            raise PlanError(f"routing names unknown step '{name}'{did_you_mean(str(name), steps)} Steps: {', '.join(steps)}")
    router = router_from_identity({k: v for k, v in route.items() if k != "to"})
    if router is None:
        raise ConfigError(f"the routing function '{route['function']}' of step '{upstream}' cannot be imported: "
                          "define it at the top level of an importable module")
    pipeline.route(steps[upstream], [steps[t] for t in route["to"]], router)


def build_step(name: str, params: Any) -> Any:
    """Construct one step named ``name`` from ``{"type": ..., <params>...}``.

    Raises:
        ConfigError: the step's parameters do not validate.
        RegistryError: the type is unknown.
    """
    if not isinstance(params, Mapping) or "type" not in params:
        raise ConfigError(f"step '{name}' needs a `type:` (a registered step name), got {params!r}")
    cls = resolve_class("step", params)
    kwargs = {k: _build_nested(k, v, f"step '{name}'") for k, v in params.items() if k not in (*_META_KEYS, "name")}
    return _construct(cls, kwargs, f"step '{name}' ({params['type']})", name=name)


def build_llm(params: Mapping[str, Any], owner: str) -> Any:
    """Construct an LLM from ``{"type": ..., <params>...}``; ``None`` values keep the backend default.

    Raises:
        ConfigError: the parameters do not validate.
        RegistryError: the backend is unknown.
    """
    if "type" not in params or not params["type"]:
        raise ConfigError(f"the llm of {owner} needs a `type:` (a registered LLM backend), got {dict(params)!r}")
    cls = resolve_class("llm", params)
    kwargs = {k: v for k, v in params.items() if k not in _META_KEYS and k != "extra" and v is not None}
    kwargs.update(params.get("extra") or {})
    return _construct(cls, kwargs, f"llm '{params['type']}' of {owner}")


def resolve_class(kind: str, params: Mapping[str, Any]) -> type:
    """The class registered as ``params["type"]``; for a class no plugin registers (a step defined in a
    script), the one at ``params["class"]`` when that class still names itself ``type``.

    Configs survive refactors because the registered name decides. Any other unknown ``type:`` (a typo,
    a renamed or disabled plugin step: its class now has another name, is registered, or lives in a
    plugin package) is an error: running the recorded class by its import path would
    silently run something else.

    Raises:
        RegistryError: the name is unknown (with a "did you mean") and is not an unregistered class's own name.
    """
    name = str(params["type"])
    registry = _registry()
    try:
        return registry.get_step(name) if kind == "step" else registry.get_llm(name)  # type: ignore[no-any-return]
    except RegistryError:
        cls = _import_class(params.get("class"))
        if cls is None or _own_name(cls) != name or _is_registered(registry, kind, cls) or _from_a_plugin(cls):
            raise
        return cls


def _own_name(cls: type) -> str | None:
    registered_name = getattr(cls, "registered_name", None)
    return registered_name() if callable(registered_name) else None


def _from_a_plugin(cls: type) -> bool:
    """Whether ``cls`` lives in a package that ships a synthgen plugin (which registers its classes,
    unless disabled): such a class is only ever run by its registered name."""
    from importlib import metadata

    packages = {ep.value.split(":")[0].split(".")[0] for ep in metadata.entry_points(group="synthgen")}
    return cls.__module__.split(".")[0] in packages


def _is_registered(registry: Any, kind: str, cls: type) -> bool:
    entries = registry.steps if kind == "step" else registry.llms
    path = f"{cls.__module__}:{cls.__qualname__}"
    return any(entry.path == path for entry in entries.values())


def iter_connections(connections: Any, steps: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Normalise ``[{"from": a | [a, b], "to": c | [c, d]}]`` to edges, checking that every end exists
    (a list on either side connects each of its steps, like ``[a, b] >> c`` in Python).

    Raises:
        PlanError: an entry is malformed or names an unknown step.
    """
    edges: list[tuple[str, str]] = []
    for i, entry in enumerate(connections):
        if not isinstance(entry, Mapping) or "from" not in entry or "to" not in entry:
            raise PlanError(f"connections[{i}] must be {{from: <step>, to: <step or list>}}, got {entry!r}")
        sources, targets = _names(entry["from"]), _names(entry["to"])
        for end in (*sources, *targets):
            if not isinstance(end, str) or end not in steps:
                raise PlanError(
                    f"connections[{i}] names unknown step '{end}'{did_you_mean(str(end), steps)} "
                    f"Steps: {', '.join(steps)}"
                )
        edges.extend((str(a), str(b)) for a in sources for b in targets)
    return edges


def _names(end: Any) -> list[Any]:
    return list(end) if isinstance(end, (list, tuple)) else [end]


def _registry() -> Any:
    from synthgen.plugins import get_registry

    return get_registry()


def _import_class(path: Any) -> type | None:
    if not isinstance(path, str) or ":" not in path:
        return None
    module_name, _, qualname = path.partition(":")
    try:
        obj: Any = importlib.import_module(module_name)
        for part in qualname.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError):
        return None
    return obj if isinstance(obj, type) else None


def _build_nested(key: str, value: Any, owner: str) -> Any:
    """LLM parameters (``llm``, ``*_llm``, ``llms``) arrive as dicts and become LLM objects."""
    if _is_llm_key(key) and isinstance(value, Mapping):
        return build_llm(value, owner)
    if key == "llms" and isinstance(value, (list, tuple)):
        return [build_llm(v, owner) if isinstance(v, Mapping) else v for v in value]
    return value


def _is_llm_key(key: str) -> bool:
    # `embeddings` (EmbeddingGeneration) holds an embeddings backend, registered with the LLM backends.
    return key in ("llm", "embeddings") or key.endswith("_llm")


def _construct(cls: type, kwargs: dict[str, Any], owner: str, **extra: Any) -> Any:
    try:
        return cls(**kwargs, **extra)
    except ValidationError as exc:
        fields = list(getattr(cls, "model_fields", {}))
        raise ConfigError(f"{owner}: {describe_validation_error(exc, fields)}") from None
    except TypeError as exc:  # a non-pydantic class with a plain __init__
        raise ConfigError(f"{owner}: {exc}") from None


def describe_validation_error(exc: ValidationError, fields: list[str]) -> str:
    """One line per pydantic error, saying which parameter is missing, unknown or wrong and how to fix it."""
    lines = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"])
        if err["type"] == "missing":
            lines.append(f"missing required parameter '{loc}'")
        elif err["type"] == "extra_forbidden":
            lines.append(f"unknown parameter '{loc}'{did_you_mean(loc, fields)} Parameters: {', '.join(fields)}")
        else:
            lines.append(f"invalid value {err.get('input')!r} for parameter '{loc}': {err['msg']}")
    return "; ".join(lines)
