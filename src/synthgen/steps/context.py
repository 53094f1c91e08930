"""The pipeline that steps join: which one is being built, and what it offers them.

``with Pipeline(...) as p:`` makes ``p`` the active pipeline; a step created inside the block adds
itself to it, and ``a >> b`` connects through it. The steps see it only through
:class:`PipelineBuilder`, so the step layer never imports :mod:`synthgen.pipeline`.
"""

from __future__ import annotations

import contextvars
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from pathlib import Path

    from synthgen.steps.base import BaseStep

_ACTIVE: contextvars.ContextVar[PipelineBuilder | None] = contextvars.ContextVar("synthgen_pipeline", default=None)

ActivationToken = contextvars.Token


class PipelineBuilder(Protocol):
    """What a pipeline under construction offers the steps created in its ``with`` block
    (:class:`synthgen.pipeline.Pipeline` implements it)."""

    @property
    def name(self) -> str:
        """The pipeline's name."""

    @property
    def cache_dir(self) -> str | Path | None:
        """The cache root the pipeline was given (``None``: the default one)."""

    @property
    def steps(self) -> Mapping[str, BaseStep]:
        """Its steps by name."""

    def add_step(self, step: BaseStep) -> None:
        """Add ``step``, naming it when it has no name.

        Raises:
            PlanError: the name is taken by another step of the pipeline.
        """

    def connect(self, upstream: BaseStep, downstream: BaseStep) -> None:
        """Add the edge ``upstream -> downstream``.

        Raises:
            PlanError: a step is not part of the pipeline, or ``downstream`` is a generator.
        """

    def route(self, upstream: BaseStep, targets: list[BaseStep], router: Any) -> None:
        """Connect ``upstream`` to ``targets`` and route each of its batches through ``router``.

        Raises:
            PlanError: ``upstream`` is routed already, or a step is not part of the pipeline.
        """


def active_pipeline() -> PipelineBuilder | None:
    """The pipeline whose ``with`` block is open in this context, if any."""
    return _ACTIVE.get()


def activate(pipeline: PipelineBuilder) -> ActivationToken[PipelineBuilder | None]:
    """Make ``pipeline`` the one new steps join, until :func:`deactivate` with the returned token."""
    return _ACTIVE.set(pipeline)


def deactivate(token: ActivationToken[PipelineBuilder | None]) -> None:
    """Restore the pipeline that was active before the :func:`activate` call that returned ``token``."""
    _ACTIVE.reset(token)
