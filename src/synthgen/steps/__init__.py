"""Built-in steps and the step API."""

from synthgen.steps.base import (
    GeneratorStep,
    GlobalStep,
    RuntimeParameter,
    Step,
    StepInput,
    StepOutput,
    StepResources,
)
from synthgen.steps.decorator import step

__all__ = ["GeneratorStep", "GlobalStep", "RuntimeParameter", "Step", "StepInput", "StepOutput", "StepResources", "step"]
