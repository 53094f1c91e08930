"""What the pipeline folders of a cache say about their runs: status, times, rows per step.

Read-only: the runner's own files (``batch_manager.json``, ``runs/``, the per-step release logs,
``pipeline.yaml``) are read, never written, and the run lock is looked at without being taken (taking it,
even for an instant, could make a run that starts then fail).
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from synthgen.errors import CacheError
from synthgen.runner.journal import Journal
from synthgen.store import SHARED_DIRS
from synthgen.yaml_io import load_yaml

RUNNING, FINISHED, FAILED_ROWS = "running", "finished", "finished with failed rows"
PENDING, INTERRUPTED, NOT_RUN = "pending offline batch", "interrupted", "not run yet"
PROC_LOCKS = Path("/proc/locks")  # Linux lists every lock held on the machine here


@dataclass
class StepCounts:
    """One step's rows of the last (or the running) run."""

    name: str
    type: str
    rows: int = 0
    batches: int = 0
    rows_from_cache: int = 0
    rows_computed: int = 0
    failed: int = 0
    failures: list[tuple[int, str]] = field(default_factory=list)
    model: str | None = None
    llm: dict[str, int] = field(default_factory=dict)  # requests sent, cache hits, retries, 429s


@dataclass
class RunView:
    """A pipeline folder as the pages show it."""

    name: str
    signature: str
    pdir: Path
    status: str
    steps: dict[str, StepCounts]
    edges: list[tuple[str, str]]
    leaves: list[str]
    started: float | None
    finished: float | None

    @property
    def wall_time(self) -> float | None:
        """Seconds from the run's start to its end (or to now, while it runs)."""
        if self.started is None:
            return None
        end = self.finished if self.finished is not None else (time.time() if self.status == RUNNING else None)
        return None if end is None else max(0.0, end - self.started)

    def leaf_rows(self) -> dict[str, int]:
        return {leaf: self.steps[leaf].rows for leaf in self.leaves if leaf in self.steps}


def pipeline_dirs(root: Path) -> list[Path]:
    """Every ``<root>/<name>/<signature>/`` folder, newest activity first."""
    found = [p for top in _subdirs(root) if top.name not in SHARED_DIRS and not top.name.startswith(".")
             for p in _subdirs(top) if (p / "pipeline.yaml").is_file()]
    return sorted(found, key=_last_activity, reverse=True)


def _subdirs(path: Path) -> list[Path]:
    return [p for p in path.iterdir() if p.is_dir()] if path.is_dir() else []


def _last_activity(pdir: Path) -> float:
    return max((p.stat().st_mtime for p in (pdir, pdir / "batch_manager.json") if p.exists()), default=0.0)


def pipeline_dir(root: Path, name: str, signature: str) -> Path:
    """The folder of pipeline ``name`` with ``signature``, checked to be a pipeline folder under ``root``.

    Raises:
        CacheError: no such pipeline folder (or a name that would leave the cache root).
    """
    plain = all(part not in ("", ".", "..") and "/" not in part for part in (name, signature))
    pdir = root / name / signature
    if not plain or name in SHARED_DIRS or not (pdir / "pipeline.yaml").is_file():
        raise CacheError(f"no pipeline folder {name}/{signature} in {root}: pick one from the start page")
    return pdir


def read_run(pdir: Path) -> RunView:
    """The status, times and per-step counts of the folder's last run (live counts while it runs)."""
    spec = read_spec(pdir / "pipeline.yaml")
    journal = Journal(pdir)
    state = journal.read()
    running = is_running(pdir)
    status = _status(state, running, journal)
    # While a run goes, the saved summary is the previous run's: count only what this one released.
    steps = _steps(spec, {} if running else state, pdir if running or status == INTERRUPTED else None)
    edges = _edges(spec)
    leaves = [n for n in steps if not any(a == n for a, _ in edges)]
    started = (pdir / "pipeline.yaml").stat().st_mtime  # written when each run starts
    ended = state.get("updated_at") if not running and state else None
    return RunView(pdir.parent.name, pdir.name, pdir, status, steps, edges, leaves, started,
                   ended if ended is None or ended >= started else None)


def _edges(spec: dict[str, Any]) -> list[tuple[str, str]]:
    """The connections of ``pipeline.yaml`` (what ``Pipeline.dump`` writes of ``pipeline.edges``, the
    graph ``synthgen pipeline draw`` draws), one pair per arrow."""
    return [(c["from"], to) for c in spec.get("pipeline", {}).get("connections", [])
            for to in (c["to"] if isinstance(c["to"], list) else [c["to"]])]


_SPECS: dict[Path, tuple[tuple[int, int], dict[str, Any]]] = {}


def read_spec(path: Path) -> dict[str, Any]:
    """The parsed ``pipeline.yaml`` (``{}`` when it is damaged), parsed again only when it changes: a
    live page asks every second, and the file holds inline datasets."""
    stat = path.stat()
    version = (stat.st_mtime_ns, stat.st_size)
    cached = _SPECS.get(path)
    if cached is None or cached[0] != version:
        try:
            spec = load_yaml(path.read_text())
        except (yaml.YAMLError, UnicodeDecodeError):
            spec = None
        _SPECS[path] = (version, spec if isinstance(spec, dict) else {})
    return _SPECS[path][1]


def _status(state: dict[str, Any], running: bool, journal: Journal) -> str:
    if running:
        return RUNNING
    if journal.offline_jobs():
        return PENDING
    if state.get("finished"):
        return FAILED_ROWS if journal.failed_rows() else FINISHED
    return INTERRUPTED if state or _logs(journal.pdir) else NOT_RUN


def _steps(spec: dict[str, Any], state: dict[str, Any], live_dir: Path | None) -> dict[str, StepCounts]:
    pipeline, provenance = spec.get("pipeline", {}), spec.get("provenance", {})
    steps: dict[str, StepCounts] = {}
    for name, params in pipeline.get("steps", {}).items():
        steps[name] = _counts(name, params.get("type", "?"), state.get("steps", {}).get(name, {}),
                              _model(params, provenance.get(name, {})))
    if live_dir is not None:
        _add_live_rows(steps, live_dir, provenance)
    return steps


def _model(params: dict[str, Any], provenance: dict[str, Any]) -> str | None:
    """The model an LLM step used: the provenance names the one really used (an embedded model's
    config has no ``model``); None for a step without an LLM."""
    llm = params.get("llm")
    if not isinstance(llm, dict):
        return None
    return str(provenance.get("model") or llm.get("model") or llm.get("type") or "?")


def _counts(name: str, kind: str, summary: dict[str, Any], model: str | None) -> StepCounts:
    numbers = {k: int(summary.get(k, 0) or 0) for k in ("rows", "batches", "rows_from_cache", "rows_computed", "failed")}
    failures = [(int(row), str(error)) for row, error in summary.get("failures", [])]
    llm = {str(k): int(v) for k, v in (summary.get("llm") or {}).items() if isinstance(v, int)}
    return StepCounts(name, kind, failures=failures, model=model, llm=llm, **numbers)


def _add_live_rows(steps: dict[str, StepCounts], pdir: Path, provenance: dict[str, Any]) -> None:
    """While a run goes (or after one was killed), the rows each step has released so far: the runner
    logs each released batch as ``<digest> <rows>`` in ``<step>.<fingerprint[:16]>.log``."""
    for name, counts in steps.items():
        fingerprint = str(provenance.get(name, {}).get("fingerprint", ""))[:16]
        log = pdir / "batch_manager_steps" / f"{name}.{fingerprint}.log"
        released = _released(log)
        if released is not None:
            counts.rows, counts.batches = sum(released.values()), len(released)


def _released(log: Path) -> dict[str, int] | None:
    try:
        lines = log.read_text().splitlines()
    except FileNotFoundError:
        return None
    # A resumed run logs the batches the killed one already logged: count each object once.
    return {parts[0]: int(parts[1]) for parts in (line.split() for line in lines)
            if len(parts) == 2 and parts[1].isdigit()}


def _logs(pdir: Path) -> bool:
    return any((pdir / "batch_manager_steps").glob("*.log"))


def is_running(pdir: Path) -> bool:
    """Whether a run holds the folder's lock, read from ``/proc/locks`` (Linux) so the lock is never
    taken; elsewhere, a folder with release logs and no saved finish counts as running."""
    lock = pdir / ".lock"
    if not lock.exists():
        return False
    if not PROC_LOCKS.exists():
        return _logs(pdir) and not Journal(pdir).read().get("finished")
    st = os.stat(lock)
    key = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
    return any(key in line.split() for line in PROC_LOCKS.read_text().splitlines())


def history(pdir: Path) -> list[dict[str, Any]]:
    """The folder's finished runs (``runs/<ns>.json``), oldest first: time and per-step counts."""
    runs = []
    for path in sorted((pdir / "runs").glob("*.json")):
        try:
            runs.append(json.loads(path.read_text()))
        except ValueError:
            continue  # a damaged record is skipped, as the runner would rewrite it
    return runs
