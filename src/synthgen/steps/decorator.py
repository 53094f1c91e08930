"""``@step``: turn a function into a Step class."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, Literal

from synthgen.errors import PlanError
from synthgen.steps.base import BaseStep, GeneratorStep, GlobalStep, Step

_BASES: dict[str, type[BaseStep]] = {"normal": Step, "global": GlobalStep, "generator": GeneratorStep}


def step(
    inputs: list[str] | dict[str, bool] | None = None,
    outputs: list[str] | dict[str, bool] | None = None,
    step_type: Literal["normal", "global", "generator"] = "normal",
    version: int = 1,
) -> Callable[[Callable[..., Any]], type[BaseStep]]:
    """Make a Step class from a generator function.

    Keyword arguments of the function with defaults become the step's parameters.

    Args:
        inputs: the columns the step reads.
        outputs: the columns the step writes.
        step_type: ``normal`` (row-wise), ``global`` (all rows at once) or ``generator``.
        version: bump it when the function's behaviour changes: the body is not hashed, so this is
            what makes cached outputs of the old code stop matching.

    Returns:
        A decorator that returns the new Step class, named after the function.

    Raises:
        PlanError: for an unknown ``step_type``.
    """
    if step_type not in _BASES:
        raise PlanError(f"unknown step_type '{step_type}': expected one of {', '.join(_BASES)}")

    def decorator(fn: Callable[..., Any]) -> type[BaseStep]:
        params = {
            name: p for name, p in inspect.signature(fn).parameters.items()
            if p.kind is inspect.Parameter.KEYWORD_ONLY
        }
        namespace: dict[str, Any] = {
            "__module__": fn.__module__,
            "__qualname__": fn.__qualname__,
            "__doc__": fn.__doc__,
            "__annotations__": {n: (p.annotation if p.annotation is not p.empty else Any) for n, p in params.items()},
            "_fn": staticmethod(fn),
            "version": version,
            # A dict keeps each column's required flag (``{"context": False}``: optional).
            "inputs": property(lambda self: _columns(inputs)),
            "outputs": property(lambda self: _columns(outputs)),
            "process": _make_process(step_type, list(params)),
        }
        namespace.update({n: p.default for n, p in params.items() if p.default is not p.empty})
        return type(fn.__name__, (_BASES[step_type],), namespace)

    return decorator


def _columns(spec: list[str] | dict[str, bool] | None) -> list[str] | dict[str, bool]:
    """A copy of the decorator's columns, a dict staying a dict: it holds each column's required flag."""
    return dict(spec) if isinstance(spec, dict) else list(spec or [])


def _make_process(step_type: str, param_names: list[str]) -> Callable[..., Any]:
    if step_type == "generator":
        def process_generator(self: Any, offset: int = 0) -> Any:
            yield from self._fn(offset, **{n: getattr(self, n) for n in param_names})
        return process_generator

    def process(self: Any, *inputs: Any) -> Any:
        yield from self._fn(*inputs, **{n: getattr(self, n) for n in param_names})
    return process
