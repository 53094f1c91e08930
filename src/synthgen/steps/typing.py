"""Types that step authors annotate with, under the names distilabel uses (``distilabel.steps.typing``)."""

from __future__ import annotations

from typing import Union

from synthgen.steps.base import GeneratorStepOutput, StepInput, StepOutput

StepColumns = Union[list[str], dict[str, bool]]
"""A step's ``inputs`` or ``outputs``: a list of column names, or a mapping name -> required."""

__all__ = ["GeneratorStepOutput", "StepColumns", "StepInput", "StepOutput"]
