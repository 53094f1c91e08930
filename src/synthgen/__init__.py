"""synthgen: synthetic datasets with LLMs, cached, resumable and plugin-based."""

from __future__ import annotations

from synthgen.pipeline import Pipeline
from synthgen.steps.base import GeneratorStep, GlobalStep, Step, StepInput, StepOutput, StepResources
from synthgen.steps.decorator import step
from synthgen.version import __version__

__all__ = [
    "__version__",
    "CheckpointStrategy",
    "Distiset",
    "GeneratorStep",
    "GlobalStep",
    "Pipeline",
    "Step",
    "StepInput",
    "StepOutput",
    "StepResources",
    "create_distiset",
    "step",
]


def __getattr__(name: str) -> object:
    # Distiset pulls in `datasets`; import it only when asked for so `import synthgen` stays fast.
    if name in ("Distiset", "create_distiset"):
        from synthgen import distiset

        return getattr(distiset, name)
    if name == "CheckpointStrategy":
        from synthgen.runner.checkpoint import CheckpointStrategy

        return CheckpointStrategy
    raise AttributeError(f"module 'synthgen' has no attribute {name!r}")
