"""``FilterRows``: keep the rows for which a condition holds.

A condition written as a string is a small expression language, not Python: it is parsed with
``ast`` and only whitelisted constructs are allowed (no attribute access, no imports, no builtins
beyond a few pure functions), so a condition from a config file cannot reach the interpreter.
"""

from __future__ import annotations

import ast
import hashlib
import importlib
import inspect
import re
from collections.abc import Callable
from typing import Any

from pydantic import PrivateAttr, field_validator

from synthgen.errors import ConfigError, StepError, did_you_mean
from synthgen.steps.base import Row, Step, StepInput, StepOutput

SAFE_FUNCTIONS: dict[str, Callable[..., Any]] = {"len": len, "abs": abs, "min": min, "max": max, "any": any, "all": all}

_ALLOWED_NODES: tuple[type[ast.AST], ...] = (
    ast.Expression, ast.BoolOp, ast.And, ast.Or, ast.Compare, ast.BinOp, ast.UnaryOp, ast.IfExp,
    ast.Name, ast.Load, ast.Constant, ast.Subscript, ast.Slice, ast.List, ast.Tuple, ast.Call, ast.keyword,
    ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.Is, ast.IsNot, ast.In, ast.NotIn,
    ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow, ast.Not, ast.USub, ast.UAdd,
)
# "package.module:function" cannot be a valid expression, so it safely names a callable instead.
_IMPORT_PATH = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")


class FilterRows(Step):
    """Keep the rows for which ``condition`` is true; order is preserved.

    Args:
        condition: a callable ``row -> bool`` (module-level, so that it pickles to worker processes
            and round-trips through pipeline.yaml as its import path); an import path ``"package.module:function"``; or an
            expression over column names, e.g. ``"n % 2 == 0 and rating is not None"``. Expressions
            may use comparisons, ``and``/``or``/``not``, arithmetic, indexing, list/tuple literals,
            ``x if c else y`` and the functions ``len``, ``abs``, ``min``, ``max``, ``any``, ``all``.

    Input columns: the names used by an expression (a callable's are unknown). Output columns: none added.

    Raises:
        ConfigError: at construction, for an expression with a forbidden construct (named in the
            message) or an import path that cannot be imported.
        StepError: at run time, when an expression names a column the row lacks or fails to evaluate.
    """

    condition: str | Callable[[Row], Any]

    _predicate: Callable[[Row], Any] | None = PrivateAttr(default=None)

    @field_validator("condition")
    @classmethod
    def _check_condition(cls, value: Any) -> Any:
        if isinstance(value, str) and not _IMPORT_PATH.match(value):
            Condition(value)  # raises ConfigError naming the forbidden construct
        elif isinstance(value, str):
            _import_callable(value)
        return value

    @property
    def inputs(self) -> list[str]:
        if isinstance(self.condition, str) and not _IMPORT_PATH.match(self.condition):
            return sorted(Condition(self.condition).columns)
        return []

    def load(self) -> None:
        self._predicate = _predicate_for(self.condition)

    def process(self, *inputs: StepInput) -> StepOutput:
        predicate = self._predicate or _predicate_for(self.condition)
        for rows in inputs:
            yield [row for row in rows if self._keep(predicate, row)]

    def _keep(self, predicate: Callable[[Row], Any], row: Row) -> bool:
        try:
            return bool(predicate(row))
        except _MissingColumn as exc:
            raise StepError(str(self.name), str(exc)) from None
        except Exception as exc:
            raise StepError(str(self.name), f"condition {_describe(self.condition)} raised "
                                            f"{type(exc).__name__}: {exc} on a row with columns {', '.join(row)}") from exc

    def dump(self) -> dict[str, Any]:
        dumped = super().dump()
        if callable(self.condition):
            dumped["condition"] = f"{self.condition.__module__}:{self.condition.__qualname__}"
        return dumped

    def fingerprint_params(self) -> dict[str, Any]:
        params = super().fingerprint_params()
        if callable(self.condition) or _IMPORT_PATH.match(self.condition):
            # Two lambdas share a dumped name; hash the code so editing a function reruns the step.
            # An import path hashes the same code, so a pipeline.yaml rebuild hits the same cache.
            params["condition_code"] = _code_hash(_predicate_for(self.condition))
        return params


class _MissingColumn(LookupError):
    """An expression names a column the row does not have."""


class Condition:
    """A validated expression over a row's columns.

    Args:
        source: the expression text.

    Raises:
        ConfigError: when the text is not an expression or uses a construct outside the whitelist.
    """

    def __init__(self, source: str) -> None:
        self.source = source
        try:
            tree = ast.parse(source.strip(), mode="eval")
        except SyntaxError as exc:
            raise ConfigError(f"FilterRows condition {source!r} is not a valid expression: {exc.msg}") from None
        self.columns = _check_tree(tree, source)
        self._code = compile(tree, "<condition>", "eval")

    def __reduce__(self) -> tuple[type[Condition], tuple[str]]:
        return Condition, (self.source,)  # code objects do not pickle; recompile in the worker

    def __call__(self, row: Row) -> Any:
        missing = [c for c in sorted(self.columns) if c not in row]
        if missing:
            raise _MissingColumn(f"condition {self.source!r} uses column '{missing[0]}' that the row lacks"
                                 f"{did_you_mean(missing[0], row) or '.'} Row columns: {', '.join(row) or 'none'}")
        # No builtins: the whitelist above is what makes this eval safe.
        return eval(self._code, {"__builtins__": {}, **SAFE_FUNCTIONS}, dict(row))


def _check_tree(tree: ast.AST, source: str) -> set[str]:
    """Reject any construct outside the whitelist; return the column names the expression reads."""
    nodes = list(ast.walk(tree))
    for node in nodes:
        if not isinstance(node, _ALLOWED_NODES):
            raise ConfigError(_forbidden(source, type(node).__name__, node))
    calls = {id(node.func) for node in nodes if isinstance(node, ast.Call)}
    for node in nodes:
        if isinstance(node, ast.Call) and not (isinstance(node.func, ast.Name) and node.func.id in SAFE_FUNCTIONS):
            raise ConfigError(_forbidden(source, f"call of {ast.unparse(node.func)}()", node))
        if isinstance(node, ast.Name) and node.id.startswith("__"):
            raise ConfigError(_forbidden(source, f"name {node.id}", node))
    return {node.id for node in nodes if isinstance(node, ast.Name) and id(node) not in calls}


def _forbidden(source: str, construct: str, node: ast.AST) -> str:
    allowed = ", ".join(SAFE_FUNCTIONS)
    return (f"FilterRows condition {source!r} uses a forbidden construct: {construct} "
            f"(at column {getattr(node, 'col_offset', 0) + 1}). Conditions may use column names, constants, "
            f"comparisons, and/or/not, arithmetic, indexing, list/tuple literals, x if c else y and the "
            f"functions {allowed}; pass a Python function as condition= for anything else")


def _predicate_for(condition: str | Callable[[Row], Any]) -> Callable[[Row], Any]:
    if callable(condition):
        return condition
    if _IMPORT_PATH.match(condition):
        return _import_callable(condition)
    return Condition(condition)


def _import_callable(path: str) -> Callable[[Row], Any]:
    module_name, _, qualname = path.partition(":")
    try:
        target: Any = importlib.import_module(module_name)
        for part in qualname.split("."):
            target = getattr(target, part)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"FilterRows condition {path!r}: cannot import it ({exc}). Give 'package.module:function' "
                          f"of an importable function, or an expression") from None
    if not callable(target):
        raise ConfigError(f"FilterRows condition {path!r} is a {type(target).__name__}, not a function")
    return target  # type: ignore[no-any-return]


def _code_hash(fn: Callable[..., Any]) -> str:
    try:
        text = inspect.getsource(fn)
    except (OSError, TypeError):
        code = getattr(fn, "__code__", None)
        text = repr((code.co_code, code.co_consts, code.co_names)) if code else repr(fn)
    return hashlib.sha256(text.encode()).hexdigest()


def _describe(condition: str | Callable[..., Any]) -> str:
    return repr(condition) if isinstance(condition, str) else getattr(condition, "__qualname__", repr(condition))
