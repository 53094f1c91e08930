"""Charts and the DAG drawn as SVG on the server.

Why not a JavaScript chart library: the pages must work offline and without a build step, and a bar
chart and a layered graph are a few dozen lines of SVG; drawn here they are plain markup that renders
without scripts, prints, and is tested as text. Every label goes through ``escape``.
"""

from __future__ import annotations

from html import escape

from synthgen.view.stats import Histogram

BAR_W, CHART_H, PLOT_H = 34, 190, 140
NODE_W, NODE_H, GAP_X, GAP_Y = 190, 58, 30, 34


def bar_chart(histogram: Histogram, kind: str) -> str:
    """A bar per label, the count above it, the label under it."""
    top = max(histogram.counts, default=0) or 1
    width = max(len(histogram.counts) * BAR_W + 20, 160)
    parts = [f'<svg class="chart {kind}" data-column="{escape(histogram.column)}" width="{width}" '
             f'height="{CHART_H}" viewBox="0 0 {width} {CHART_H}" role="img" '
             f'aria-label="{escape(kind)} of {escape(histogram.column)}">']
    for i, (label, count) in enumerate(zip(histogram.labels, histogram.counts, strict=True)):
        parts.append(_bar(10 + i * BAR_W, label, count, top))
    parts.append(f'<line x1="8" y1="{PLOT_H + 20}" x2="{width - 8}" y2="{PLOT_H + 20}" class="axis"/></svg>')
    return "".join(parts)


def _bar(x: int, label: str, count: int, top: int) -> str:
    height = round(PLOT_H * count / top)
    y = PLOT_H + 20 - height
    return (f'<g><title>{escape(label)}: {count}</title>'
            f'<rect class="bar" x="{x}" y="{y}" width="{BAR_W - 6}" height="{height}"/>'
            f'<text x="{x + (BAR_W - 6) / 2}" y="{y - 4}" class="count">{count}</text>'
            f'<text x="{x + (BAR_W - 6) / 2}" y="{PLOT_H + 34}" class="label">{escape(label)}</text></g>')


def layers(steps: list[str], edges: list[tuple[str, str]]) -> list[list[str]]:
    """Steps by depth: a step sits one layer below its deepest predecessor (steps keep their order)."""
    depth: dict[str, int] = {}
    for _ in steps:  # relax until stable: a DAG settles within len(steps) passes
        for step in steps:
            depth[step] = max((depth.get(a, 0) + 1 for a, b in edges if b == step), default=0)
    rows: list[list[str]] = [[] for _ in range(max(depth.values(), default=-1) + 1)]
    for step in steps:
        rows[depth[step]].append(step)
    return rows


def dag(steps: dict[str, str], edges: list[tuple[str, str]], notes: dict[str, str]) -> str:
    """The pipeline's graph: a box per step (name, type, a ``notes`` line), an arrow per connection."""
    rows = layers(list(steps), edges)
    widest = max((len(r) for r in rows), default=1)
    width = widest * (NODE_W + GAP_X) + GAP_X
    height = len(rows) * (NODE_H + GAP_Y) + GAP_Y
    where = {step: (GAP_X + (width - GAP_X - len(row) * (NODE_W + GAP_X)) / 2 + i * (NODE_W + GAP_X),
                    GAP_Y + depth * (NODE_H + GAP_Y))
             for depth, row in enumerate(rows) for i, step in enumerate(row)}
    parts = [f'<svg class="dag" width="{width}" height="{height}" viewBox="0 0 {width} {height}">',
             '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
             'orient="auto"><path d="M0,0 L10,5 L0,10 z"/></marker></defs>']
    parts += [_edge(where[a], where[b]) for a, b in edges if a in where and b in where]
    parts += [_node(step, kind, notes.get(step, ""), *where[step]) for step, kind in steps.items()]
    return "".join(parts + ["</svg>"])


def _edge(start: tuple[float, float], end: tuple[float, float]) -> str:
    x1, y1 = start[0] + NODE_W / 2, start[1] + NODE_H
    x2, y2 = end[0] + NODE_W / 2, end[1]
    return f'<line class="edge" x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2 - 2}" marker-end="url(#arrow)"/>'


def _node(step: str, kind: str, note: str, x: float, y: float) -> str:
    return (f'<g class="node" data-step="{escape(step)}"><rect x="{x}" y="{y}" width="{NODE_W}" height="{NODE_H}" '
            f'rx="8"/><text x="{x + NODE_W / 2}" y="{y + 18}" class="name">{escape(step)}</text>'
            f'<text x="{x + NODE_W / 2}" y="{y + 34}" class="kind">{escape(kind)}</text>'
            f'<text x="{x + NODE_W / 2}" y="{y + 49}" class="note">{escape(note)}</text></g>')
