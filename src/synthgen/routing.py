"""Routing batch functions: send each batch of a step to a subset of the steps after it.

``load >> sample_n_steps(2) >> [gen_a, gen_b, gen_c] >> combine`` sends every batch of ``load`` to two
of the three generators; ``combine`` receives, per batch of ``load``, the outputs of the two it went
to. Each decision is recorded in the store under a key of the batch's content and position, so a
rerun or a resumed run routes every batch the same way, even with an unseeded random function.
"""

from __future__ import annotations

import importlib
import random
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, overload

from synthgen.errors import PlanError

if TYPE_CHECKING:
    from synthgen.steps.base import BaseStep

RoutingFunction = Callable[[list[str]], list[str]]
"""``steps -> chosen steps``: the names of the steps a batch may go to, and those it goes to."""


class RoutingBatchFunction:
    """Decides, per batch of one upstream step, which of its downstream steps receive it.

    Use it between a step and a list of steps: ``upstream >> router >> [a, b, c]``.

    Args:
        choose: ``(steps, batch_key) -> chosen``; ``batch_key`` identifies the batch (by content and
            position), for a choice that is random yet reproducible.
        identity: the function's name and parameters (plain data), recorded in pipeline.yaml and part
            of the signatures.
    """

    def __init__(self, choose: Callable[[list[str], str], list[str]], identity: dict[str, Any]) -> None:
        self.choose = choose
        self.identity = identity
        self.upstream: BaseStep | None = None

    def __rrshift__(self, upstream: BaseStep) -> RoutingBatchFunction:
        if self.upstream is not None:
            raise PlanError(f"routing function {self.identity['function']} already routes step "
                            f"'{self.upstream.name}': make one routing function per step")
        self.upstream = upstream
        return self

    def __rshift__(self, targets: Any) -> Any:
        if self.upstream is None or self.upstream.pipeline is None:
            raise PlanError("a routing function goes between a step and the steps it routes to: "
                            "`step >> router >> [a, b]`, inside a `with Pipeline(...)` block")
        self.upstream.pipeline.route(self.upstream, targets if isinstance(targets, list) else [targets], self)
        return targets

    def __call__(self, steps: list[str], batch_key: str) -> list[str]:
        return self.choose(steps, batch_key)


@overload
def routing_batch_function(fn: RoutingFunction) -> RoutingBatchFunction: ...
@overload
def routing_batch_function(fn: None = None, description: str | None = None) -> Callable[[RoutingFunction], RoutingBatchFunction]: ...


def routing_batch_function(fn: RoutingFunction | None = None, description: str | None = None) -> Any:
    """Make a routing batch function from ``steps -> chosen steps`` (with or without parentheses).

    The function may be random: each of its decisions is recorded, so a resumed run routes the same
    batches the same way. Its name is part of the pipeline's signature; its body is not.

    Args:
        fn: the function.
        description: free text recorded in pipeline.yaml.

    Returns:
        A :class:`RoutingBatchFunction` (or a decorator that returns one).
    """
    def wrap(function: RoutingFunction) -> RoutingBatchFunction:
        identity = {"function": f"{function.__module__}:{function.__qualname__}", "description": description}
        return RoutingBatchFunction(StepsOnly(function), identity)

    return wrap(fn) if fn is not None else wrap


class StepsOnly:
    """Calls a ``steps -> chosen`` function, ignoring the batch key (a class, not a closure: steps
    travel to their worker processes pickled, with their pipeline)."""

    def __init__(self, function: RoutingFunction) -> None:
        self.function = function

    def __call__(self, steps: list[str], batch_key: str) -> list[str]:
        return self.function(steps)


class SampleN:
    """``n`` of the steps, sampled with a generator seeded by ``seed`` and the batch key."""

    def __init__(self, n: int, seed: int) -> None:
        self.n, self.seed = n, seed

    def __call__(self, steps: list[str], batch_key: str) -> list[str]:
        if self.n > len(steps):
            raise PlanError(f"sample_n_steps({self.n}) routes to only {len(steps)} steps: lower n or add steps")
        return random.Random(f"{self.seed}:{batch_key}").sample(sorted(steps), self.n)


def router_from_identity(identity: dict[str, Any]) -> RoutingBatchFunction | None:
    """The routing function that ``identity`` (as pipeline.yaml records it) names, or ``None`` when it
    cannot be imported (a function defined inside another one)."""
    if identity.get("function") == "sample_n_steps":
        return sample_n_steps(int(identity["n"]), int(identity.get("seed", 0)))
    module_name, _, qualname = str(identity.get("function", "")).partition(":")
    try:
        obj: Any = importlib.import_module(module_name)
        for part in qualname.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError, ValueError):
        return None
    # A fresh one: the module's own object may already route a step of a pipeline built on import.
    return RoutingBatchFunction(obj.choose, obj.identity) if isinstance(obj, RoutingBatchFunction) else None


def sample_n_steps(n: int, seed: int = 0) -> RoutingBatchFunction:
    """Send each batch to ``n`` of the downstream steps, sampled per batch.

    The sample is seeded by ``seed`` and the batch itself, so a rerun samples the same steps for the
    same batch; another ``seed`` gives another routing.

    Raises:
        PlanError: ``n`` is below 1.
    """
    if n < 1:
        raise PlanError(f"sample_n_steps({n}): n must be at least 1")
    return RoutingBatchFunction(SampleN(n, seed), {"function": "sample_n_steps", "n": n, "seed": seed})
