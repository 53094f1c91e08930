"""Draw a pipeline's DAG: Mermaid text, or PNG/SVG through graphviz's ``dot`` when it is installed."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from synthgen.errors import ConfigError
from synthgen.pipeline import Pipeline

IMAGE_FORMATS = (".png", ".svg")


def mermaid(pipeline: Pipeline) -> str:
    """A Mermaid ``flowchart`` with one node per step (name and type) and one arrow per connection."""
    lines = ["flowchart TD"]
    for name, step in pipeline.steps.items():
        lines.append(f'    {_node_id(name)}["{name}<br/><i>{type(step).registered_name()}</i>"]')
    lines += [f"    {_node_id(a)} --> {_node_id(b)}" for a, b in pipeline.edges]
    return "\n".join(lines) + "\n"


def dot(pipeline: Pipeline) -> str:
    """The same graph in graphviz's DOT language."""
    lines = ["digraph pipeline {", "  rankdir=TB;", "  node [shape=box, style=rounded];"]
    for name, step in pipeline.steps.items():
        lines.append(f'  "{name}" [label="{name}\\n{type(step).registered_name()}"];')
    lines += [f'  "{a}" -> "{b}";' for a, b in pipeline.edges]
    return "\n".join(lines + ["}"]) + "\n"


def write_drawing(pipeline: Pipeline, output: str | None) -> str | None:
    """Print Mermaid when ``output`` is None; else write FILE and return a line saying where.

    Raises:
        ConfigError: a PNG/SVG was asked for and graphviz's ``dot`` is not installed or failed.
    """
    if output is None:
        print(mermaid(pipeline), end="")
        return None
    path = Path(output)
    if path.suffix.lower() in IMAGE_FORMATS:
        _render_image(pipeline, path)
    else:
        path.write_text(mermaid(pipeline))
    return f"wrote {path}"


def _render_image(pipeline: Pipeline, path: Path) -> None:
    exe = shutil.which("dot")
    if exe is None:
        raise ConfigError(
            f"cannot write {path.name}: PNG/SVG output needs graphviz's `dot` (apt install graphviz / "
            f"brew install graphviz), or write Mermaid with --output {path.with_suffix('.mmd').name}"
        )
    fmt = path.suffix.lower().lstrip(".")
    done = subprocess.run([exe, f"-T{fmt}", "-o", str(path)], input=dot(pipeline), text=True,
                          capture_output=True, check=False)
    if done.returncode:
        raise ConfigError(f"graphviz failed to write {path}: {done.stderr.strip()}")


def _node_id(name: str) -> str:
    # Mermaid ids cannot hold spaces or punctuation; the label keeps the real name.
    return "s_" + "".join(c if c.isalnum() else "_" for c in name)
