"""Every hook synthgen calls, in one module.

A plugin is a module or object with functions named like these hooks and decorated with
:data:`synthgen.plugins.hookimpl`. Extension hooks (``synthgen_register_*``) receive a registrar and add
things to the registry; lifecycle hooks are told what happens during a run and return nothing.
Lifecycle hooks fire in the process where the event happens: the pipeline hooks and
``synthgen_on_step_error`` in the main process, the step and batch hooks inside each step's worker
process (the plugin manager is rebuilt there).

Each hook has a section in ``docs/plugins.md``; a test fails when one is missing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from synthgen.distiset import Distiset
    from synthgen.pipeline import Pipeline
    from synthgen.plugins.registry import Registrar
    from synthgen.steps.base import BaseStep

PROJECT_NAME = "synthgen"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


# -------------------------------------------------------------------------------------------------
# Extension hooks: called once per process, when the registry is first needed.
# -------------------------------------------------------------------------------------------------


@hookspec
def synthgen_register_steps(register: Registrar) -> None:
    """Register step classes (tasks included) under the names that configs use.

    Call ``register.add_step(cls, name=None)``; the name defaults to ``cls.registered_name()``.

    :param register: the registrar bound to the calling plugin, so the registry records who
        registered what.
    """


@hookspec
def synthgen_register_llms(register: Registrar) -> None:
    """Register LLM backend classes under the names that ``llm: {type: ...}`` configs use.

    Call ``register.add_llm(cls, name=None)``; the name defaults to ``cls.registered_name()``.

    :param register: the registrar bound to the calling plugin.
    """


@hookspec
def synthgen_register_executors(register: Registrar) -> None:
    """Register executors: where step replicas run, chosen by ``pipeline.run(runner="name")``.

    Call ``register.add_executor(name, "module:Class", options=(...), local_gpus=False)``. The class is
    imported only when a run chooses it, and is called as ``Class(store_root, log_level, **options)``.

    :param register: the registrar bound to the calling plugin.
    """


@hookspec
def synthgen_register_configs(register: Registrar) -> None:
    """Add a folder of Hydra config groups (``pipeline/``, ``llm/``, ...) to the config search path.

    Call ``register.add_config_path("pkg://my_package.conf")`` (or ``file://`` for a folder).

    :param register: the registrar bound to the calling plugin.
    """


# -------------------------------------------------------------------------------------------------
# Pipeline lifecycle: called in the main process.
# -------------------------------------------------------------------------------------------------


@hookspec
def synthgen_before_pipeline_run(pipeline: Pipeline) -> None:
    """Called after the pipeline was planned and before its first step starts.

    :param pipeline: the pipeline about to run; treat it as read-only.
    """


@hookspec
def synthgen_after_pipeline_run(pipeline: Pipeline, distiset: Distiset) -> None:
    """Called once the pipeline finished and its :class:`~synthgen.Distiset` was built.

    :param pipeline: the pipeline that ran.
    :param distiset: its result, one dataset per leaf step.
    """


# -------------------------------------------------------------------------------------------------
# Step lifecycle: the step and batch hooks run in the worker process of the step replica.
# -------------------------------------------------------------------------------------------------


@hookspec
def synthgen_before_step_started(step: BaseStep) -> None:
    """Called in the worker after ``step.load()`` and before its first batch.

    :param step: the step replica about to process batches.
    """


@hookspec
def synthgen_after_batch_written(step: BaseStep, batch: Any) -> None:
    """Called in the worker after a batch the step produced was written to the store.

    Downstream steps may already read it; a failing hook does not undo the write.

    :param step: the step that produced the batch.
    :param batch: what was written: ``{"seq": <batch number>, "digest": <store object>, "rows": <count>}``.
    """


@hookspec
def synthgen_on_step_error(step: BaseStep, error: BaseException) -> None:
    """Called in the main process when a step failed, before the error reaches the caller.

    Every batch written before the failure stays in the cache; the error still propagates after every
    implementation ran.

    :param step: the step that failed.
    :param error: the error, usually a :class:`~synthgen.errors.StepError` chaining the original one.
    """
