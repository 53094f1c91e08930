"""Every field of every registered step and LLM is classified, and its class means it.

A field is part of its owner's fingerprint unless it is declared ``Fingerprint.IGNORE`` or is a secret
(:func:`synthgen.fields.in_fingerprint`). For each registered class (built-ins and the installed plugins,
through the registry), each field is given another valid value: the fingerprint must change exactly for
the fields that are part of it. A backend setting that changes answers but was declared IGNORE, or a
knob that was left in the fingerprint, fails here with the field's name.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from synthgen.llms.base import LLM
from synthgen.llms.embedded import DEFAULT_EMBEDDED, EMBEDDED_MODELS
from synthgen.plugins.manager import get_registry
from synthgen.steps.base import StepResources
from synthgen.testing.fake_embeddings import FakeEmbeddings
from synthgen.testing.fake_llm import FakeLLM
from synthgen.testing.fingerprints import fingerprint_mismatches

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
    explicit = {f: CHANGED[k] for f in cls.model_fields for k in (f, f"{name}.{f}") if k in CHANGED}  # its own wins
    wrong, untested = fingerprint_mismatches(cls(**base_arguments(cls, name, tmp_path)), explicit)
    assert not wrong, f"{name}: the fingerprint does not follow the declaration of: {', '.join(wrong)}"
    untested = [f for f in untested if f"{name}.{f}" not in NO_OTHER_VALUE]
    assert not untested, f"{name}: no other valid value found for {untested}: add one to CHANGED"


def base_arguments(cls: type[BaseModel], name: str, tmp_path: Path) -> dict[str, Any]:
    (tmp_path / "rows.jsonl").write_text('{"a": 1}\n')
    values = {**REQUIRED, "data_files": str(tmp_path / "rows.jsonl"), "dataset_path": str(tmp_path)}
    if name == "generate_embeddings":
        values["llm"] = FakeEmbeddings()
    required = {f: values[f] for f, info in cls.model_fields.items() if info.is_required() or f == "model"}
    return {**required, **SETUP.get(name, {})}
