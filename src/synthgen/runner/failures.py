"""Failed rows at the end of a run: the summary lines, ``distiset.failures``, and ``RowsFailed``.

A run whose rows partly failed still finishes and writes its dataset (the failed rows are in it, with
``None`` outputs and their errors); the caller learns of the failures from ``distiset.failures``, the
summary, the card and, on the command line, exit code 4. Past ``max_failed_fraction`` of any step's
rows it is an error (:class:`RowsFailed`), so a run where everything failed is never a success.
"""

from __future__ import annotations

from typing import Any

from synthgen.errors import ConfigError, RowsFailed

Failures = dict[str, dict[str, Any]]


def step_failures(summary: dict[str, dict[str, Any]]) -> Failures:
    """Per step with failed rows: ``count``, ``rows`` (of the step) and ``examples`` (row, error)."""
    return {name: {"count": s["failed"], "rows": s["rows"],
                   "examples": [{"row": row, "error": error} for row, error in s.get("failures", [])]}
            for name, s in summary.items() if s.get("failed")}


def check_fraction(max_failed_fraction: float) -> None:
    """Raises:
        ConfigError: the fraction is not between 0 and 1."""
    if not 0 <= max_failed_fraction <= 1:
        raise ConfigError(f"max_failed_fraction={max_failed_fraction!r}: give a fraction between 0 (strict: any "
                          "failed row is an error) and 1 (never an error)")


def raise_if_too_many(failures: Failures, max_failed_fraction: float, distiset: Any) -> None:
    """Raises:
        RowsFailed: a step's failed fraction is above ``max_failed_fraction`` (carries the Distiset)."""
    over = {n: f for n, f in failures.items() if f["count"] > max_failed_fraction * max(f["rows"], 1)}
    if not over:
        return
    name, worst = max(over.items(), key=lambda kv: kv[1]["count"] / max(kv[1]["rows"], 1))
    example = worst["examples"][0]["error"] if worst["examples"] else "see synthgen_metadata"
    raise RowsFailed(
        f"{worst['count']} of {worst['rows']} rows failed in step '{name}', more than "
        f"max_failed_fraction={max_failed_fraction}. First error: {example}. The dataset is written with the "
        "failed rows marked; fix the cause and rerun the same command: only the failed rows are sent again",
        distiset, failures,
    )


def summary_lines(summary: dict[str, dict[str, Any]]) -> list[str]:
    """One line per step: rows, batches, and rows from cache, computed and failed (which add up)."""
    return [f"{name}: {s['rows']:,} rows in {s['batches']} batches: {s.get('rows_from_cache', 0):,} from cache, "
            f"{s.get('rows_computed', 0):,} computed, {s.get('failed', 0):,} failed{_requests(s.get('llm'))}"
            for name, s in summary.items()]


def _requests(llm: dict[str, int] | None) -> str:
    """The LLM requests of a step, when it sent or looked any up."""
    if not llm:
        return ""
    return (f"; LLM requests: {llm.get('sent', 0):,} sent, {llm.get('cache_hits', 0):,} from cache, "
            f"{llm.get('retries', 0):,} retries, {llm.get('rate_limited', 0):,} rate limited")


def failures_line(failures: Failures) -> str:
    """The closing line of a run with failed rows."""
    total = sum(f["count"] for f in failures.values())
    steps = ", ".join(f"{n}: {f['count']} of {f['rows']}" for n, f in failures.items())
    return (f"{total} row(s) failed ({steps}); they are in the dataset with None outputs and their errors in "
            "synthgen_metadata. Rerun the same command to retry only them (`synthgen cache explain` lists them)")
