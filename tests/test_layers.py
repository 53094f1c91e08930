"""The layers of docs/architecture.md are the import-linter contracts of pyproject.toml, they cover every
module, and the code keeps the sizes STYLE.md asks for."""

from __future__ import annotations

import ast
import re
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib

ROOT = Path(__file__).parents[1]
PACKAGE = ROOT / "src" / "synthgen"
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 40  # statements, the docstring not counted
MAX_MEDIAN_FUNCTION_LINES = 8


def contracts() -> list[dict]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]


def layers() -> list[str]:
    return next(c for c in contracts() if c["type"] == "layers")["layers"]


def test_every_top_level_module_has_a_layer() -> None:
    """A module outside every layer is checked by nothing: each one is placed."""
    placed = {name.strip() for layer in layers() for name in re.split(r"[|:]", layer)}
    modules = {p.stem for p in PACKAGE.glob("*.py") if not p.stem.startswith("__")}
    packages = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()}
    assert sorted((modules | packages) - placed) == [], "add these to [tool.importlinter] layers in pyproject.toml"
    assert sorted(placed - modules - packages) == [], "these layers name modules that do not exist"


def test_architecture_md_shows_the_layers_the_contract_checks() -> None:
    text = (ROOT / "docs" / "architecture.md").read_text()
    block = text.split("From the top (`a | b`: neither imports the other):\n\n```\n", 1)[1].split("```", 1)[0]
    documented = [re.split(r"\s{2,}", line.strip())[0] for line in block.strip().splitlines()]
    assert documented == layers()


@pytest.mark.skipif(shutil.which("lint-imports", path=str(Path(sys.executable).parent)) is None,
                    reason="import-linter is not installed (it is in the dev extra)")
def test_the_import_contracts_hold() -> None:
    """Higher imports lower only (function-level imports included), only config imports Hydra, no cycles."""
    lint = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    done = subprocess.run([lint, "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-4000:]
    assert f"Contracts: {len(contracts())} kept, 0 broken." in done.stdout


def function_lengths() -> dict[str, int]:
    lengths = {}
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                body = node.body[1:] if len(node.body) > 1 and ast.get_docstring(node) is not None else node.body
                lengths[f"{path.relative_to(ROOT)}:{node.lineno} {node.name}"] = node.end_lineno - body[0].lineno + 1
    return lengths


def test_modules_and_functions_stay_small() -> None:
    """STYLE.md: small modules, small functions (issue 20 measured median 92 lines per module, max 385;
    function median 6 lines). Split what grows past these bounds rather than raising them."""
    long_modules = {str(p.relative_to(ROOT)): n for p in PACKAGE.rglob("*.py")
                    if (n := len(p.read_text().splitlines())) > MAX_MODULE_LINES}
    assert long_modules == {}, f"modules over {MAX_MODULE_LINES} lines"
    lengths = function_lengths()
    assert {k: n for k, n in lengths.items() if n > MAX_FUNCTION_LINES} == {}, f"functions over {MAX_FUNCTION_LINES} lines"
    assert statistics.median(lengths.values()) <= MAX_MEDIAN_FUNCTION_LINES
