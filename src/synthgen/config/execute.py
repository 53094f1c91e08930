"""Run a built pipeline for the command line: record it, run it, save the Distiset, summarise it.

Plain Python (no Hydra): both ``python -m synthgen`` and ``synthgen pipeline run`` end here.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from synthgen.config.failures import EXIT_ROWS_FAILED
from synthgen.errors import RowsFailed
from synthgen.pipeline import Pipeline


@dataclass
class RunReport:
    """What a finished run printed: where the dataset is and a short summary of it."""

    path: Path
    seconds: float
    rows: dict[str, int] = field(default_factory=dict)
    ratings: dict[str, int] = field(default_factory=dict)
    tokens: dict[str, int] = field(default_factory=dict)
    failures: dict[str, dict[str, Any]] = field(default_factory=dict)
    too_many_failed: RowsFailed | None = None
    """Set when a step's failed fraction passed ``max_failed_fraction``: raise it after printing."""

    @property
    def exit_code(self) -> int:
        """0 when every row of every step succeeded, 4 when some failed (the dataset is written)."""
        return EXIT_ROWS_FAILED if self.failures else 0

    def render(self) -> str:
        """Human-readable lines: path, rows per leaf, rating distribution, tokens, time."""
        lines = [f"dataset saved to {self.path}"]
        lines += [f"  {leaf}: {n} rows" for leaf, n in self.rows.items()]
        if self.ratings:
            dist = ", ".join(f"{k}: {v}" for k, v in sorted(self.ratings.items(), key=lambda kv: str(kv[0])))
            lines.append(f"  ratings: {dist}")
        if self.tokens:
            lines.append("  tokens: " + ", ".join(f"{k} {v}" for k, v in self.tokens.items()))
        for step, failed in self.failures.items():
            first = failed["examples"][0]["error"] if failed["examples"] else ""
            lines.append(f"  FAILED: {failed['count']} of {failed['rows']} rows in step '{step}' (first: {first})")
        if self.failures:
            lines.append("  rerun the same command to retry only the failed rows; `synthgen cache explain` lists them")
        lines.append(f"  time: {self.seconds:.1f}s")
        return "\n".join(lines)


def record_pipeline(pipeline: Pipeline, folder: Path) -> Path:
    """Write the resolved pipeline (no secrets) as ``folder/pipeline.yaml``; return its path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "pipeline.yaml"
    path.write_text(yaml.safe_dump(pipeline.dump(), sort_keys=False, allow_unicode=True))
    return path


def execute(
    pipeline: Pipeline,
    out_dir: Path,
    save_dir: Path | None = None,
    use_cache: bool = True,
    load_groups: Any = None,
    runner: str = "local",
    runner_options: dict[str, Any] | None = None,
    retry_failed: bool = True,
    max_failed_fraction: float = 0.5,
) -> RunReport:
    """Record, run and save ``pipeline``.

    Args:
        pipeline: the built pipeline.
        out_dir: the run's output folder; gets ``pipeline.yaml`` and, by default, ``distiset/``.
        save_dir: where to save the Distiset instead of ``out_dir/distiset``.
        use_cache: ``False`` recomputes every step.
        load_groups: passed to ``Pipeline.run``.
        runner: ``local`` or ``ray``.
        runner_options: the runner's settings (Ray: ``address``).
        retry_failed / max_failed_fraction: passed to ``Pipeline.run``.

    Returns:
        The report to print (``exit_code`` 4 when rows failed; ``too_many_failed`` to raise after it).

    Raises:
        SynthgenError: anything the run raises (plan errors come before any LLM call).
    """
    record_pipeline(pipeline, out_dir)
    start = time.monotonic()
    target = save_dir or out_dir / "distiset"
    too_many: RowsFailed | None = None
    try:
        distiset = pipeline.run(use_cache=use_cache, load_groups=load_groups, runner=runner,
                                runner_options=runner_options, retry_failed=retry_failed,
                                max_failed_fraction=max_failed_fraction)
    except RowsFailed as exc:  # the run finished: its dataset is written and summarised all the same
        distiset, too_many = exc.distiset, exc  # type: ignore[assignment]
    distiset.save_to_disk(str(target))
    report = summarise(distiset, target, time.monotonic() - start)
    report.failures = dict(getattr(distiset, "failures", {}) or {})
    report.too_many_failed = too_many
    return report


def summarise(distiset: Mapping[str, Any], path: Path, seconds: float) -> RunReport:
    """Rows per leaf, the distribution of ``ratings`` values and token counts, where present.

    Leaves often share rows (a rated dataset and the DPO pairs made from it), so ratings and tokens
    come from the leaf that has the most of them rather than a sum over leaves.
    """
    report = RunReport(path=path, seconds=seconds)
    ratings: Counter[Any] = Counter()
    tokens: Counter[str] = Counter()
    for leaf, splits in distiset.items():
        dataset = _first_split(splits)
        report.rows[leaf] = len(dataset)
        columns = list(getattr(dataset, "column_names", []) or [])
        leaf_ratings = Counter(_flatten(dataset["ratings"])) if "ratings" in columns else Counter()
        ratings = max(ratings, leaf_ratings, key=lambda c: sum(c.values()))
        tokens = max(tokens, _token_counts(dataset, columns), key=lambda c: sum(c.values()))
    report.ratings = {str(k): v for k, v in ratings.items()}
    report.tokens = dict(tokens)
    return report


def _first_split(splits: Any) -> Any:
    if hasattr(splits, "column_names") and not isinstance(splits, Mapping):
        return splits
    if isinstance(splits, Mapping) and splits:
        return splits["train"] if "train" in splits else next(iter(splits.values()))
    return splits


def _flatten(values: Iterable[Any]) -> Iterable[Any]:
    for value in values:
        if isinstance(value, (list, tuple)):
            yield from value
        else:
            yield value


def _token_counts(dataset: Any, columns: list[str]) -> Counter[str]:
    """Sum integer ``*_tokens`` entries found in top-level columns or in metadata dict columns."""
    counts: Counter[str] = Counter()
    for column in columns:
        if column.endswith("_tokens"):
            counts[column] += sum(v for v in _flatten(dataset[column]) if isinstance(v, int))
        elif "metadata" in column:
            for row in dataset[column]:
                _add_nested_tokens(row, counts)
    return counts


def _add_nested_tokens(value: Any, counts: Counter[str]) -> None:
    if isinstance(value, Mapping):
        for key, inner in value.items():
            if str(key).endswith("_tokens") and isinstance(inner, (int, list)):
                counts[str(key)] += sum(v for v in _flatten([inner]) if isinstance(v, int))
            else:
                _add_nested_tokens(inner, counts)
    elif isinstance(value, list):
        for inner in value:
            _add_nested_tokens(inner, counts)
