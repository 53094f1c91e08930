"""Check that a step's or an LLM's fingerprint follows the declarations of its fields.

A field is part of the fingerprint unless it is declared ``Fingerprint.IGNORE`` or is a secret
(:func:`synthgen.fields.in_fingerprint`). :func:`fingerprint_mismatches` gives each field of a model
another valid value and reports the fields for which the fingerprint changes when the declaration says
it must not, or stays when it must change (a ``fingerprint_params()`` override that drops a setting or
adds a knob). The contract suites and synthgen's own test over every registered class use it.
"""

from __future__ import annotations

import enum
import pickle
from collections.abc import Iterator, Mapping
from typing import Annotated, Any, Literal, get_args, get_origin

from pydantic import BaseModel, SecretStr

from synthgen.fields import in_fingerprint, is_union
from synthgen.hashing import stable_hash
from synthgen.llms.base import LLM
from synthgen.llms.embeddings import Embeddings
from synthgen.plan import step_fingerprint
from synthgen.steps.base import BaseStep
from synthgen.testing.fake_embeddings import FakeEmbeddings
from synthgen.testing.fake_llm import FakeLLM


def fingerprint_of(model: BaseModel) -> str:
    """A step's fingerprint, or the hash of an LLM's (or embeddings backend's) ``fingerprint_params()``."""
    if isinstance(model, BaseStep):
        return step_fingerprint(model)
    return stable_hash(model.fingerprint_params())  # type: ignore[attr-defined]


def fingerprint_mismatches(model: BaseModel, values: Mapping[str, Any] | None = None) -> tuple[list[str], list[str]]:
    """Fields of ``model`` whose effect on the fingerprint contradicts their declaration.

    Args:
        model: a step, LLM or embeddings backend, built as it would be used.
        values: field -> another valid value, for fields the generic values do not fit (a name from a
            closed set, a template that must use a column).

    Returns:
        ``(wrong, untested)``: the fields that break their declaration, each with what it says, and the
        fields for which no other valid value was found (give one in ``values``).
    """
    cls, before = type(model), fingerprint_of(model)
    wrong, untested = [], []
    for field in cls.model_fields:
        explicit = [values[field]] if values and field in values else []
        other = with_other_value(model, field, explicit or other_values(cls.model_fields[field].annotation,
                                                                         getattr(model, field)))
        if other is None:
            untested.append(field)
        elif (fingerprint_of(other) != before) != in_fingerprint(cls, field):
            declared = "part of the fingerprint" if in_fingerprint(cls, field) else "declared Fingerprint.IGNORE"
            wrong.append(f"{field} ({declared})")
    return wrong, untested


def with_other_value(model: BaseModel, field: str, values: Any) -> BaseModel | None:
    """A copy of ``model`` whose ``field`` took the first of ``values`` that validates and differs."""
    current = getattr(model, field)
    for value in values:
        copy = pickle.loads(pickle.dumps(model))
        try:
            setattr(copy, field, value)  # validated: steps and LLMs validate assignments
        except Exception:  # not a valid value for this class: try the next one
            continue
        if getattr(copy, field) != current:
            return copy
    return None


def other_values(annotation: Any, current: Any) -> Iterator[Any]:
    """Values of ``annotation``'s type that differ from ``current``, the likeliest to validate first."""
    if get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    if is_union(annotation):
        for member in get_args(annotation):
            yield from other_values(member, current) if member is not type(None) else ()
    elif get_origin(annotation) is Literal:
        yield from (v for v in get_args(annotation) if v != current)
    elif annotation is dict or get_origin(annotation) is dict:
        yield {**(current if isinstance(current, dict) else {}), "x": "y"}
    elif get_origin(annotation) in (list, tuple, set):
        items = list(other_values(get_args(annotation)[0], None))[:2]
        yield from ([*(current or []), item] for item in items)
    elif isinstance(annotation, type):
        yield from _of_class(annotation, current)


def _of_class(cls: type, current: Any) -> Iterator[Any]:
    number = current if isinstance(current, (int, float)) and not isinstance(current, bool) else 0
    simple: dict[type, list[Any]] = {
        bool: [not current], int: [number + 1, number + 3, max(number - 1, 0)],
        float: [number + 0.25, number / 2, 0.5], str: [f"{current or ''}x"], SecretStr: [SecretStr("other")],
    }
    if cls in simple:
        yield from simple[cls]
    elif issubclass(cls, enum.Enum):
        yield from (member for member in cls if member != current)
    elif issubclass(cls, Embeddings):
        yield FakeEmbeddings(dimensions=8)
    elif issubclass(cls, LLM):
        yield FakeLLM(model="other")
    elif issubclass(cls, BaseModel):  # settings such as StepResources: one field away from the defaults
        yield from _models_one_field_away(cls)


def _models_one_field_away(cls: type[BaseModel]) -> Iterator[BaseModel]:
    for name, field in cls.model_fields.items():
        for value in other_values(field.annotation, field.get_default(call_default_factory=True)):
            try:
                yield cls(**{name: value})
            except Exception:  # not valid for this field: try the next value
                continue
