"""The pages: what each one shows, gathered from the cache and rendered with the Jinja templates."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from synthgen.errors import CacheError
from synthgen.view import rows, svg
from synthgen.view.cells import cell, row_errors
from synthgen.view.prices import PriceTable
from synthgen.view.runs import RUNNING, RunView, history
from synthgen.view.stats import LeafStats, leaf_stats

TEMPLATES = Path(__file__).parent / "templates"
PAGE_SIZE = 25


def environment() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))
    env.filters.update(cell=cell, when=when, duration=duration, number=lambda n: f"{n:,}")
    return env


def when(stamp: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(stamp)) if stamp else "—"


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m {secs:02d}s" if hours else f"{minutes}m {secs:02d}s" if minutes else f"{seconds:.1f}s"


def index_context(root: Path, runs: list[RunView]) -> dict[str, Any]:
    return {"root": root, "runs": runs}


def run_context(run: RunView, prices: PriceTable, explain: dict[str, list[str]]) -> dict[str, Any]:
    """The run page: DAG, per-step counts, throughput, tokens and cost, explain lines, leaf charts."""
    stats = _leaf_stats(run)
    tokens = _tokens(run, stats)
    steps = [{**vars(counts), "throughput": _throughput(counts.rows, run.wall_time),
              "tokens": tokens.get(name), "cost": _cost(prices, counts.model, tokens.get(name)),
              "explain": explain.get(name, [])} for name, counts in run.steps.items()]
    known = [s["cost"] for s in steps if s["cost"] is not None]
    return {"run": run, "steps": steps, "total_cost": sum(known) if known else None,
            "dag": svg.dag({n: c.type for n, c in run.steps.items()}, run.edges, _node_notes(run)),
            "charts": {leaf: _charts(s) for leaf, s in stats.items()}, "history": history(run.pdir)[::-1][:10],
            "running": run.status == RUNNING}


def _node_notes(run: RunView) -> dict[str, str]:
    """The rows under each step's name in the DAG, with its failed rows once the run has counted them."""
    return {name: f"{c.rows:,} rows" + (f", {c.failed:,} failed" if c.failed else "") for name, c in run.steps.items()}


def _leaf_stats(run: RunView) -> dict[str, LeafStats]:
    found: dict[str, LeafStats] = {}
    for leaf in run.leaves:
        try:
            found[leaf] = leaf_stats(rows.leaf_files(run.pdir, leaf))
        except CacheError:
            continue  # no data yet (a first run still going): the leaf has no charts
    return found


def _tokens(run: RunView, stats: dict[str, LeafStats]) -> dict[str, tuple[int, int]]:
    """Tokens per LLM step, from the first leaf whose rows carry that step's statistics (leaves share
    their upstream rows: adding them up would count a step once per leaf)."""
    tokens: dict[str, tuple[int, int]] = {}
    for leaf_stat in stats.values():
        for step, pair in leaf_stat.tokens.items():
            tokens.setdefault(step, pair)
    return tokens


def _throughput(rows_done: int, seconds: float | None) -> float | None:
    return rows_done / seconds if seconds and rows_done else None


def _cost(prices: PriceTable, model: str | None, tokens: tuple[int, int] | None) -> float | None:
    price = prices.find(model)
    return price.cost(*tokens) if price is not None and tokens is not None else None


def _charts(stats: LeafStats) -> dict[str, list[dict[str, str]]]:
    return {"ratings": [{"column": h.column, "svg": svg.bar_chart(h, "ratings")} for h in stats.ratings],
            "lengths": [{"column": h.column, "svg": svg.bar_chart(h, "lengths")} for h in stats.lengths]}


def live(run: RunView) -> dict[str, Any]:
    """What the run page's script refreshes while a run goes: status, wall time, rows per step."""
    going = run.status == RUNNING  # failed rows are counted when a run saves its summary, at its end
    return {"status": run.status, "wall_time": duration(run.wall_time), "finished": when(run.finished),
            "steps": {name: {"rows": c.rows, "batches": c.batches, "failed": None if going else c.failed,
                             "throughput": _throughput(c.rows, run.wall_time)} for name, c in run.steps.items()}}


def rows_context(run: RunView, leaf: str, offset: int, search: str, failed_only: bool) -> dict[str, Any]:
    """A page of a leaf's rows, with the query that selected them."""
    page = rows.read_page(rows.leaf_files(run.pdir, leaf), offset, PAGE_SIZE, search, failed_only)
    shown = [c for c in page.columns if c != rows.METADATA]
    return {"run": run, "leaf": leaf, "page": page, "columns": shown, "search": search, "failed": failed_only,
            "offset": offset, "size": PAGE_SIZE, "errors": {i: row_errors(r) for i, r in page.rows},
            "has_metadata": rows.METADATA in page.columns}
