"""The error family: messages and pickling across worker processes."""

from __future__ import annotations

import pickle

import pytest

from synthgen.errors import (
    BudgetExceeded,
    MissingDependencyError,
    OfflineBatchGenerationNotFinished,
    PlanError,
    StepError,
    SynthgenError,
    unknown_name,
)


@pytest.mark.parametrize(
    "error",
    [StepError("gen", "boom"), MissingDependencyError("openai", "openai"),
     OfflineBatchGenerationNotFinished(["batch_1"]), BudgetExceeded("tokens budget 10 reached: 12 used"),
     PlanError("cycle")],
)
def test_errors_survive_pickling_between_processes(error: SynthgenError) -> None:
    again = pickle.loads(pickle.dumps(error))
    assert type(again) is type(error) and str(again) == str(error)


def test_missing_dependency_message_gives_the_install_line() -> None:
    assert str(MissingDependencyError("openai", "openai")) == (
        "Please install `openai` to use the openai backend: pip install 'synthgen[openai]'")


def test_unknown_name_suggests_and_lists() -> None:
    msg = unknown_name("step type", "text_generaton", ["text_generation", "keep_columns"])
    assert msg == ("unknown step type 'text_generaton' — did you mean 'text_generation'? "
                   "Registered: keep_columns, text_generation")
