"""The provider SDKs serve only the batch APIs: their installed versions stay inside the range the
extras pin, and the calls synthgen makes still exist with the arguments it passes.

A new major of either SDK fails here loudly instead of failing a user's batch job: run
tests/llms/test_offline.py against it, then raise the bound in pyproject.toml.
"""

from __future__ import annotations

import inspect
from importlib.metadata import version
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement

PYPROJECT = Path(__file__).parents[2] / "pyproject.toml"

# What synthgen.llms.openai_batch and synthgen.llms.anthropic_batch call, with the keywords they pass.
OPENAI_CALLS = {
    ("files", "create"): {"file", "purpose"},
    ("files", "content"): set(),
    ("batches", "create"): {"input_file_id", "endpoint", "completion_window", "metadata"},
    ("batches", "list"): {"limit"},
    ("batches", "retrieve"): set(),
    ("batches", "cancel"): set(),
}
ANTHROPIC_CALLS = {
    ("messages", "batches", "create"): {"requests"},
    ("messages", "batches", "list"): {"limit"},
    ("messages", "batches", "retrieve"): set(),
    ("messages", "batches", "results"): set(),
    ("messages", "batches", "cancel"): set(),
}


def pinned(package: str) -> Requirement:
    """The requirement of ``package`` in its extra (read as text: ``tomllib`` is Python 3.11+)."""
    lines = PYPROJECT.read_text().splitlines()
    line = next(line for line in lines if line.startswith(f"{package} = ["))
    return next(Requirement(r) for r in yaml.safe_load(line.split("=", 1)[1]) if Requirement(r).name == package)


@pytest.mark.parametrize("package", ["openai", "anthropic"])
def test_the_extra_pins_an_upper_bound_and_the_installed_sdk_is_inside_it(package: str) -> None:
    requirement = pinned(package)
    assert any(spec.operator == "<" for spec in requirement.specifier), (
        f"pyproject.toml's {package} extra has no upper bound: a new major could break batch jobs unseen")
    installed = version(package)
    assert requirement.specifier.contains(installed, prereleases=True), (
        f"{package} {installed} is outside the tested range {requirement.specifier}: run "
        f"tests/llms/test_offline.py with it, then move the bound in pyproject.toml")


def _client(package: str) -> object:
    if package == "openai":
        from openai import AsyncOpenAI

        return AsyncOpenAI(api_key="k", base_url="http://127.0.0.1:9/v1", max_retries=0)
    from anthropic import AsyncAnthropic

    return AsyncAnthropic(api_key="k", base_url="http://127.0.0.1:9", max_retries=0)


@pytest.mark.parametrize(("package", "calls"), [("openai", OPENAI_CALLS), ("anthropic", ANTHROPIC_CALLS)])
def test_the_batch_calls_synthgen_makes_exist_with_its_keywords(package: str, calls: dict) -> None:
    client = _client(package)
    for path, keywords in calls.items():
        target = client
        for name in path:
            target = getattr(target, name, None)
            assert target is not None, f"{package} {version(package)} has no {'.'.join(path)}"
        accepted = set(inspect.signature(target).parameters)  # type: ignore[arg-type]
        assert keywords <= accepted, f"{package} {version(package)}: {'.'.join(path)} lost {keywords - accepted}"
