"""``synthgen cache explain`` on the run page: the same facts, split per step."""

from __future__ import annotations

from pathlib import Path

from synthgen.errors import CacheError
from synthgen.runner.cache_commands import explain


def explain_by_step(root: Path, pdir: Path) -> tuple[str, dict[str, list[str]]]:
    """The heading line and, per step, the lines ``synthgen cache explain`` prints for the folder.

    A folder with no finished run yet has no explanation: the heading says why, and no step has lines.
    """
    try:
        text = explain(str(pdir / "pipeline.yaml"), root)
    except CacheError as exc:
        return str(exc), {}
    heading, *lines = text.splitlines()
    steps: dict[str, list[str]] = {}
    current: list[str] = []
    for line in lines:
        if line.startswith("  ") and not line.startswith("   "):  # "  <step>: <verdict>"
            name, _, verdict = line.strip().partition(": ")
            current = steps.setdefault(name, [])
            current.append(verdict)
        else:  # the step's failed rows, indented under it
            current.append(line.strip())
    return heading, steps
