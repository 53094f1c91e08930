"""Every field of every registered step and LLM is classified, and its class means it.

A field is part of its owner's fingerprint unless it is declared ``Fingerprint.IGNORE`` or is a secret
(:func:`synthgen.fields.in_fingerprint`). For each registered class (built-ins and the installed plugins,
through the registry), each field is given another valid value: the fingerprint must change exactly for
the fields that are part of it. A backend setting that changes answers but was declared IGNORE, or a
knob that was left in the fingerprint, fails here with the field's name.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, Literal, get_args, get_origin

import pytest
from pydantic import BaseModel, SecretStr

from synthgen.fields import in_fingerprint, is_union
from synthgen.llms.base import LLM
from synthgen.llms.embedded import DEFAULT_EMBEDDED, EMBEDDED_MODELS
from synthgen.llms.embeddings import Embeddings
from synthgen.plan import stable_hash, step_fingerprint
from synthgen.plugins.manager import get_registry
from synthgen.steps.base import StepResources
from synthgen.testing.fake_embeddings import FakeEmbeddings
from synthgen.testing.fake_llm import FakeLLM

# Values for the required fields of the registered classes.
REQUIRED: dict[str, Any] = {
    "data": [{"a": 1}, {"a": 2}], "repo_id": "org/dataset", "columns": ["a"], "condition": "a > 1",
    "data_budget": 10, "llm": FakeLLM(), "embeddings": FakeEmbeddings(), "mode": "absolute", "rubric": "honesty",
    "action": "paraphrase", "num_rows": 4, "model": "m",
}
# Settings a class needs before one of its fields can change (Magpie ends on a user turn only with two).
SETUP: dict[str, dict[str, Any]] = {"magpie": {"n_turns": 2}, "magpie_generator": {"n_turns": 2}}
# Another valid value where the generic rules below find none (a name from a closed set, a template).
CHANGED: dict[str, Any] = {
    "resources": StepResources(replicas=2), "generation_kwargs": {"temperature": 0.5}, "condition": "a > 2",
    "embedded": next(name for name in EMBEDDED_MODELS if name != DEFAULT_EMBEDDED), "template": "chatml",
    "rubric": "helpfulness", "aspect": "honesty", "mutation_templates": {"twist": "Twist: {{ instruction }}"},
    "evol_quality.mutation_templates": {"twist": "Twist {{ response }} to {{ instruction }}"},
    "text_generation.columns": ["prompt"], "base_url": "http://other.example/v1",
}
# Fields that cannot take another value here, and why.
NO_OTHER_VALUE = {
    **{f"{evol}.num_generations": "one chain per row" for evol in ("evol_instruct", "evol_complexity", "evol_quality")},
    "truncate_text_column.tokenizer": "a tokenizer needs transformers, which the tests do not install",
}


def registered() -> list[tuple[str, str]]:
    registry = get_registry()
    return [("step", n) for n in sorted(registry.steps)] + [("llm", n) for n in sorted(registry.llms)]


@pytest.fixture(autouse=True)
def _no_dependency_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    # Which fields change a fingerprint does not depend on vllm or llama-cpp being installed.
    monkeypatch.setattr(LLM, "_check_dependency", lambda self: None)


@pytest.mark.parametrize(("kind", "name"), registered())
def test_each_field_changes_the_fingerprint_exactly_when_its_class_says_so(kind: str, name: str,
                                                                          tmp_path: Path) -> None:
    cls = get_registry().get_step(name) if kind == "step" else get_registry().get_llm(name)
    base = base_arguments(cls, name, tmp_path)
    fingerprint = fingerprint_of(cls(**base))
    wrong, unchanged = [], []
    for field in cls.model_fields:
        other = changed_instance(cls, name, base, field)
        if other is None:
            unchanged += [] if f"{name}.{field}" in NO_OTHER_VALUE else [field]
        elif (fingerprint_of(other) != fingerprint) != in_fingerprint(cls, field):
            wrong.append(f"{field} ({'part of' if in_fingerprint(cls, field) else 'declared outside'} the fingerprint)")
    assert not wrong, f"{name}: the fingerprint does not follow the declaration of: {', '.join(wrong)}"
    assert not unchanged, f"{name}: no other valid value found for {unchanged}: add one to CHANGED"


def base_arguments(cls: type[BaseModel], name: str, tmp_path: Path) -> dict[str, Any]:
    files = {"data_files": tmp_path / "rows.jsonl", "dataset_path": tmp_path}
    (tmp_path / "rows.jsonl").write_text('{"a": 1}\n')
    values = {**REQUIRED, **{k: str(v) for k, v in files.items()}}
    if issubclass(cls, BaseModel) and name == "generate_embeddings":
        values["llm"] = FakeEmbeddings()
    required = {f: values[f] for f, info in cls.model_fields.items() if info.is_required() or f == "model"}
    return {**required, **SETUP.get(name, {})}


def fingerprint_of(obj: Any) -> str:
    return step_fingerprint(obj) if hasattr(obj, "input_columns") else stable_hash(obj.fingerprint_params())


def changed_instance(cls: type[BaseModel], name: str, base: dict[str, Any], field: str) -> Any:
    """``cls`` built from ``base`` with another valid value of ``field``, or ``None`` when none is found."""
    current = getattr(cls(**base), field)
    for value in explicit_values(name, field) or candidates(cls.model_fields[field].annotation, current):
        try:
            other = cls(**{**base, field: value})
        except Exception:  # not a valid value for this class: try the next one
            continue
        if getattr(other, field) != current:
            return other
    return None


def explicit_values(name: str, field: str) -> list[Any]:
    for key in (f"{name}.{field}", field):
        if key in CHANGED:
            return [CHANGED[key]]
    return []


def candidates(annotation: Any, current: Any) -> Iterator[Any]:
    """Values of ``annotation``'s type that differ from ``current``, most likely valid first."""
    if get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    if is_union(annotation):
        for member in get_args(annotation):
            yield from candidates(member, current) if member is not type(None) else ()
    elif get_origin(annotation) is Literal:
        yield from (v for v in get_args(annotation) if v != current)
    elif isinstance(annotation, type) and annotation is not dict:
        yield from _of_class(annotation, current)
    elif get_origin(annotation) in (list, tuple, set):
        yield from ([*(current or []), item] for item in list(candidates(get_args(annotation)[0], None))[:2])
    elif annotation is dict or get_origin(annotation) is dict:
        yield {**(current or {}), "x": "y"}


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
