"""Architecture rules read from the source with ``ast``: public seams between modules.

- No module uses another module's underscore name (``from x import _y``, ``x._y``), nor a private
  module (``_templates``) from outside the package that holds it: a name another module needs is public
  and documented (STYLE.md, "Public means public").
- The step layer imports nothing from the layers above it, function-level and ``TYPE_CHECKING``
  imports included: steps reach the pipeline they join through ``synthgen.steps.context``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import synthgen

SRC = Path(synthgen.__file__).parent

# Private names still shared across modules, each with the work that removes it. An entry that no
# longer matches anything fails the test, so the list only shrinks.
KNOWN: dict[tuple[str, str], str] = {}  # (module, private name it uses): why, while one is being removed

ABOVE_STEPS = ("synthgen.pipeline", "synthgen.runner", "synthgen.config", "synthgen.cli", "synthgen.plan",
               "synthgen.plugins", "synthgen.tasks", "synthgen.dry_run", "synthgen.distiset")


@dataclass(frozen=True)
class Use:
    """One module's use of a name of another module: ``module`` uses ``target`` (dotted) at ``line``."""

    module: str
    target: str
    line: int


def module_name(path: Path) -> str:
    parts = ["synthgen", *path.relative_to(SRC).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def package_of(path: Path) -> str:
    name = module_name(path)
    return name if path.name == "__init__.py" else name.rpartition(".")[0]


def imported_base(node: ast.ImportFrom, package: str) -> str:
    """The absolute module of ``from <base> import ...`` (relative imports resolved)."""
    if not node.level:
        return node.module or ""
    parts = package.split(".")[: len(package.split(".")) - node.level + 1]
    return ".".join([*parts, *([node.module] if node.module else [])])


def uses(source: str, module: str, package: str) -> Iterator[Use]:
    """Every synthgen name that ``source`` (module ``module`` of ``package``) imports or reaches through
    an imported module's attribute."""
    tree = ast.parse(source)
    bound: dict[str, str] = {}  # local name -> the synthgen object it is bound to
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = imported_base(node, package)
            for alias in node.names if base.startswith("synthgen") else ():
                bound[alias.asname or alias.name] = f"{base}.{alias.name}"
                yield Use(module, f"{base}.{alias.name}", node.lineno)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("synthgen"):
                    bound[alias.asname or alias.name.split(".")[0]] = alias.name if alias.asname else "synthgen"
                    yield Use(module, alias.name, node.lineno)
    yield from _attribute_uses(tree, module, bound)


def _attribute_uses(tree: ast.AST, module: str, bound: dict[str, str]) -> Iterator[Use]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in bound:
            yield Use(module, f"{bound[node.value.id]}.{node.attr}", node.lineno)


def is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def crosses_privacy(use: Use) -> bool:
    """Whether ``use`` reaches a private name or module that belongs to another module or package."""
    parts = use.target.split(".")
    for i, part in enumerate(parts):
        if not is_private(part):
            continue
        owner = ".".join(parts[:i])  # the module or package that the private part belongs to
        return not (use.module == owner or use.module.startswith(owner + "."))
    return False


def all_uses() -> list[Use]:
    return [use for path in sorted(SRC.rglob("*.py"))
            for use in uses(path.read_text(encoding="utf-8"), module_name(path), package_of(path))]


def test_no_module_uses_another_modules_private_names() -> None:
    crossing = [u for u in all_uses() if crosses_privacy(u)]
    unexpected = [u for u in crossing if (u.module, u.target) not in KNOWN]
    listed = "\n".join(f"  {u.module}:{u.line} uses {u.target}" for u in unexpected)
    assert not unexpected, f"private names used across modules (make them public, with a docstring):\n{listed}"
    stale = set(KNOWN) - {(u.module, u.target) for u in crossing}
    assert not stale, f"remove these from KNOWN, they are gone: {sorted(stale)}"


def test_the_step_layer_imports_nothing_above_it() -> None:
    steps = [u for u in all_uses() if u.module.startswith("synthgen.steps")]
    upward = [u for u in steps if u.target.startswith(ABOVE_STEPS)]
    listed = "\n".join(f"  {u.module}:{u.line} imports {u.target}" for u in upward)
    assert not upward, f"synthgen.steps imports a higher layer (pass what it needs in instead):\n{listed}"


SAMPLE = """
from synthgen.steps.base import _Hidden, Public
from . import _sibling_private
import synthgen.llms.base as llm_base
from synthgen.tasks import _templates
from synthgen.tasks._templates import load_template

def later():
    from synthgen.pipeline import Pipeline
    return llm_base._secret, Public._method, Pipeline
"""


def test_the_scan_sees_every_form_of_use() -> None:
    # The rules above are only as good as the scan: each form of import and attribute use is seen.
    found = list(uses(SAMPLE, "synthgen.steps.sample", "synthgen.steps"))
    crossing = sorted(u.target for u in found if crosses_privacy(u))
    assert crossing == ["synthgen.llms.base._secret", "synthgen.steps.base.Public._method", "synthgen.steps.base._Hidden",
                        "synthgen.tasks._templates", "synthgen.tasks._templates.load_template"]  # not _sibling_private
    assert "synthgen.pipeline.Pipeline" in {u.target for u in found}
    inside = list(uses(SAMPLE, "synthgen.tasks.sample", "synthgen.tasks"))
    assert not any(crosses_privacy(u) for u in inside if u.target.startswith("synthgen.tasks._templates"))
