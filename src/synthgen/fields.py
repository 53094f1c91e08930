"""How steps, LLMs and embedding backends declare their parameters, and what follows from it.

They are pydantic models, and what synthgen needs to know about a parameter is said on its field:

- ``RuntimeParameter[int]``: the value may also be set at run time (``pipeline.run(parameters=...)``).
- ``Annotated[int, Fingerprint.IGNORE]``: the value never changes what the model produces (batch sizes,
  concurrency, retries, timeouts, logging), so it is not part of the fingerprint: changing it reuses
  the cache.

A field's place in the fingerprint follows one rule (:func:`in_fingerprint`): the nearest declaration
in the class hierarchy decides (a subclass that redeclares ``input_batch_size = 10`` keeps its parent's
``IGNORE``); a secret (``SecretStr``) is never part of it; every other field is, because a parameter
that nobody classified must invalidate the cache rather than silently reuse it.

This module sits below both ``synthgen.steps`` and ``synthgen.llms``, which share it.
"""

from __future__ import annotations

import types
from enum import Enum
from typing import Annotated, Any, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, SecretStr
from pydantic.fields import FieldInfo

from synthgen.errors import ConfigError

T = TypeVar("T")

RUNTIME_PARAMETER = "synthgen:runtime_parameter"
"""The ``Annotated`` marker behind :data:`RuntimeParameter`."""

RuntimeParameter = Annotated[T, RUNTIME_PARAMETER]
"""Marks a field that may be set at run time: ``batch_size: RuntimeParameter[int] = 50``."""


class Fingerprint(Enum):
    """Declares, on a field, whether its value is part of the fingerprint of the model that owns it.

    ``max_concurrency: Annotated[int, Fingerprint.IGNORE] = 64`` — how the work is done, not what it
    produces. ``INCLUDE`` is the default; write it only to undo a parent class's ``IGNORE``.
    """

    INCLUDE = "include"
    IGNORE = "ignore"


def declared_fingerprint(cls: type[BaseModel], name: str) -> Fingerprint | None:
    """The nearest :class:`Fingerprint` declaration of field ``name`` in ``cls``'s hierarchy, if any."""
    for klass in cls.__mro__:
        field = klass.__dict__.get("__pydantic_fields__", {}).get(name)
        marker = _marker(field) if field is not None else None
        if marker is not None:
            return marker
    return None


def _marker(field: FieldInfo) -> Fingerprint | None:
    return next((m for m in field.metadata if isinstance(m, Fingerprint)), None)


def in_fingerprint(cls: type[BaseModel], name: str) -> bool:
    """Whether field ``name`` of ``cls`` is part of its fingerprint (the rule in the module docstring)."""
    if is_secret(cls.model_fields[name].annotation):
        return False
    return declared_fingerprint(cls, name) is not Fingerprint.IGNORE


def fingerprint_data(model: BaseModel, dumped: dict[str, Any]) -> dict[str, Any]:
    """What a fingerprint hashes: ``dumped`` (``model.dump()``) without its ``class`` path and the fields
    that are not part of the fingerprint; a nested step, LLM or embeddings backend contributes its own
    ``fingerprint_params()``.

    Args:
        model: the step, LLM or embeddings backend.
        dumped: its plain data, as ``dump()`` returns it.

    Returns:
        The output-relevant plain data.
    """
    fields = type(model).model_fields
    out: dict[str, Any] = {}
    for key, value in dumped.items():
        if key == "class" or key in fields and not in_fingerprint(type(model), key):
            continue
        nested = getattr(model, key) if key in fields else None
        own = getattr(nested, "fingerprint_params", None)
        out[key] = own() if isinstance(nested, BaseModel) and callable(own) else value
    return out


# ---- runtime parameters --------------------------------------------------------------------------
def runtime_parameter_names(cls: type[BaseModel]) -> list[str]:
    """The fields of ``cls`` declared ``RuntimeParameter[...]``, in declaration order."""
    return [name for name, field in cls.model_fields.items() if RUNTIME_PARAMETER in field.metadata]


def set_runtime_parameters(model: BaseModel, values: dict[str, Any], owner: str) -> None:
    """Set runtime parameters on ``model``, recursing into nested models such as ``llm``.

    Args:
        model: the step or LLM.
        values: name -> value; a nested model's values as a nested mapping.
        owner: how messages name the model (``"step 'gen'"``).

    Raises:
        ConfigError: an unknown name (listing the valid ones) or an invalid value.
    """
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


# ---- plain data ----------------------------------------------------------------------------------
def dump_model(model: BaseModel, exclude: set[str] | None = None) -> dict[str, Any]:
    """Dump a model to plain data, dropping secrets and private fields; nested models keep a ``type``."""
    out: dict[str, Any] = {}
    for name, field in type(model).model_fields.items():
        if exclude and name in exclude or field.exclude:
            continue
        value = getattr(model, name)
        if isinstance(value, SecretStr) or is_secret(field.annotation):
            continue
        out[name] = _plain(value)
    return out


def is_secret(annotation: Any) -> bool:
    """Whether a field annotation is ``SecretStr`` (or a union holding it)."""
    if annotation is SecretStr:
        return True
    if is_union(annotation):
        return any(is_secret(a) for a in get_args(annotation))
    return False


def is_union(annotation: Any) -> bool:
    """Whether ``annotation`` is ``Union[...]`` or ``X | Y``."""
    return get_origin(annotation) in (Union, types.UnionType)


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
