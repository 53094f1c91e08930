"""``Pipeline.dry_run``: one batch through every step, in a pipeline folder of its own.

The dry run is a copy of the pipeline whose generators stop after their first batch. It has its own
name (``<name>-dry-run``), so its journal never marks the real pipeline finished; it shares the store,
so the LLM answers it paid for are not paid again by the real run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from synthgen.steps.base import GeneratorStep, GeneratorStepOutput

if TYPE_CHECKING:
    from synthgen.pipeline import Pipeline

DRY_RUN_SUFFIX = "-dry-run"


class FirstBatch(GeneratorStep):
    """A generator that yields only the first batch of ``source`` (at most ``batch_size`` rows)."""

    source: GeneratorStep

    @property
    def outputs(self) -> list[str] | dict[str, bool]:
        return self.source.outputs

    @property
    def llm(self) -> Any:
        """The source's LLM (a generator task's), so the run checks its key before any request."""
        return getattr(self.source, "llm", None)

    def fingerprint_params(self) -> dict[str, Any]:
        # Unlike a generator's batching, the size of the one batch decides which rows exist.
        return {**super().fingerprint_params(), "first_batch_rows": self.batch_size}

    def columns_after(self, incoming: set[str] | None) -> set[str] | None:
        return self.source.columns_after(incoming)

    def source_state(self) -> Any:
        return self.source.source_state()

    def load(self) -> None:
        self.source.load()

    def unload(self) -> None:
        self.source.unload()

    def process(self, offset: int = 0) -> GeneratorStepOutput:
        for rows, _ in self.source.process(offset):
            yield rows, True
            return
        yield [], True


def first_batch_pipeline(pipeline: Pipeline, batch_size: int) -> Pipeline:
    """A copy of ``pipeline`` whose generators emit one batch of ``batch_size`` rows.

    The other steps are the same objects: the copy changes nothing in ``pipeline``.
    """
    # The pipeline's own class builds the copy: this module sits below the pipeline and never imports it.
    dry = type(pipeline)(name=f"{pipeline.name}{DRY_RUN_SUFFIX}", description=pipeline.description,
                   cache_dir=pipeline.cache_dir)
    with dry:  # a FirstBatch joins the dry pipeline, never a pipeline whose `with` block is open
        steps = {name: _first_batch(step, batch_size) if isinstance(step, GeneratorStep) else step
                 for name, step in pipeline.steps.items()}
    dry.steps, dry.edges, dry.routes = steps, list(pipeline.edges), dict(pipeline.routes)
    return dry


def _first_batch(step: GeneratorStep, batch_size: int) -> FirstBatch:
    source = step.model_copy(update={"batch_size": batch_size})
    return FirstBatch(name=step.name, source=source, batch_size=batch_size, output_mappings=step.output_mappings)
