"""``synthgen cache ls | explain | gc | clear``: what is cached, why a step missed, and clean-up.

Each function returns the text to print; bad paths or names raise a one-line CacheError with the fix.
"""

from __future__ import annotations

import json
import shutil
import time
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from synthgen import plan
from synthgen.cache_location import resolve_cache_root
from synthgen.errors import CacheError, RegistryError
from synthgen.fields import in_fingerprint
from synthgen.llms.base import LLM
from synthgen.names import check_name
from synthgen.paths import inside
from synthgen.plugins.manager import get_registry
from synthgen.plugins.registry import Kind
from synthgen.runner.journal import INLINE_DATA, run_lock
from synthgen.steps.base import GeneratorStep, Step
from synthgen.store import SHARED_DIRS, Store
from synthgen.yaml_io import load_yaml_file

if TYPE_CHECKING:
    from synthgen.pipeline import Pipeline

_SHARED = SHARED_DIRS


def cache_root(cache_dir: str | Path | None) -> Path:
    """The cache root to inspect.

    Raises:
        CacheError: there is no cache there yet.
    """
    resolved = resolve_cache_root(cache_dir)
    root = resolved.local
    if not root.is_dir():
        if resolved.remote:
            raise CacheError(f"no pipeline has run on {resolved.remote} from this machine (its folders would be in "
                             f"{root}): run one here first, or point SYNTHGEN_STATE_DIR at the state folder of the "
                             "driver that ran it")
        raise CacheError(f"no cache at {root}: run a pipeline first, or pass --cache-dir / set SYNTHGEN_CACHE_DIR")
    return root


def _pipeline_dirs(root: Path) -> list[Path]:
    return sorted(p for name in root.iterdir() if name.is_dir() and name.name not in _SHARED
                  for p in name.iterdir() if p.is_dir())


def _size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def _human(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024:
            return f"{n:.0f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"


def ls(cache_dir: str | Path | None = None) -> str:
    """One line per cached pipeline run: name, signature, size of its folder, bytes of the cache objects
    it refers to (batches and their columns; an object shared by several pipelines counts in each),
    last run, finished or not."""
    root = cache_root(cache_dir)
    remote = resolve_cache_root(cache_dir).remote
    store = None if remote else Store(root)
    lines = [f"{'pipeline':<28} {'signature':<14} {'size':>9} {'objects':>9}  {'last run':<17} state"]
    for pdir in _pipeline_dirs(root):
        state = _json(pdir / "batch_manager.json")
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(state.get("updated_at", pdir.stat().st_mtime)))
        objects = "-" if store is None else _human(_objects_size(root, _with_columns(store, _pipeline_objects(pdir))))
        lines.append(f"{pdir.parent.name:<28} {pdir.name[:12]:<14} {_human(_size(pdir)):>9} {objects:>9}  {when:<17} "
                     f"{'finished' if state.get('finished') else 'unfinished'}")
    if remote:  # sizing a bucket means listing every object in it
        lines.append(f"shared objects and records: in {remote} (not measured); pipeline folders in {root}")
    else:
        shared = sum(_size(root / d) for d in _SHARED if (root / d).exists())
        lines.append(f"shared objects and records: {_human(shared)} in {root}")
    return "\n".join(lines)


def _objects_size(root: Path, digests: set[str]) -> int:
    sizes = (inside(root, "objects", d[:2], f"{d}.arrow") for d in digests)
    return sum(p.stat().st_size for p in sizes if p.is_file())


def _json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        return {}


def find_pipeline_dir(target: str, root: Path) -> Path:
    """The folder of a pipeline named ``target`` (its latest run) or of the pipeline.yaml at ``target``.

    Raises:
        CacheError: no such pipeline in the cache.
    """
    path = Path(target).expanduser()
    if path.is_file() and path.suffix in (".yaml", ".yml"):
        spec = load_yaml_file(path) or {}
        name, sig = spec.get("pipeline", {}).get("name"), spec.get("aggregated_steps_signature")
        if path.parent.parent.name == name:
            return path.parent
        if name and sig and (root / name / sig).is_dir():
            return root / name / sig
        raise CacheError(f"pipeline.yaml at {path} has never run with cache {root}: run it first")
    candidates = [p for p in _pipeline_dirs(root) if p.parent.name == target]
    if not candidates:
        names = sorted({p.parent.name for p in _pipeline_dirs(root)})
        raise CacheError(f"no cached pipeline named '{target}' in {root}. Cached: {', '.join(names) or 'none'}")
    return max(candidates, key=lambda p: p.stat().st_mtime)


def step_status(pipeline: Pipeline, cache_dir: str | Path | None = None) -> dict[str, str]:
    """What a run of ``pipeline`` would reuse, per step (``synthgen pipeline info``).

    A run answers a batch from the cache when a run before computed it with the same step fingerprint
    on the same input rows. So a step counts as cached when one recorded run (the last saved records, or
    any finished run in ``runs/``, e.g. an earlier sweep job) had its fingerprint and those of all its
    upstream steps; not only when the last run did.
    """
    from synthgen.runner.journal import Journal

    root = resolve_cache_root(cache_dir).local
    pdir = Store(root).pipeline_dir(pipeline.name, pipeline.folder_key)
    if not pdir.is_dir():  # never run with these parameters: what the latest run of another would give
        siblings = [p for p in _pipeline_dirs(root) if p.parent.name == pipeline.name] if root.is_dir() else []
        if not siblings:
            return dict.fromkeys(pipeline.steps, "not run yet")
        pdir = max(siblings, key=lambda p: p.stat().st_mtime)
    journal = Journal(pdir)
    if journal.finished_with(pipeline.aggregated_steps_signature) and not journal.failed_rows():
        return dict.fromkeys(pipeline.steps, "cached: the finished run is returned as it is")
    graph = pipeline.graph()
    runs = _recorded_fingerprints(pdir, list(graph.nodes))
    return {name: _one_status(_json(pdir / "batch_manager_steps" / f"{name}.json"), graph, name, runs)
            for name in plan.topological_order(graph)}


def _recorded_fingerprints(pdir: Path, names: list[str]) -> list[dict[str, str]]:
    """Per recorded run, each step's fingerprint: the saved records first, then the runs of every
    parameterization of the pipeline (each has its folder beside this one), newest first."""
    saved = {n: _json(pdir / "batch_manager_steps" / f"{n}.json").get("fingerprint", "") for n in names}
    history = sorted(pdir.parent.glob("*/runs/*.json"), key=lambda f: f.name, reverse=True)
    runs = [{n: s.get("fingerprint", "") for n, s in _json(f).get("steps", {}).items()} for f in history]
    return [saved, *runs]


def _one_status(record: dict[str, Any], graph: plan.Graph, name: str, runs: list[dict[str, str]]) -> str:
    node = graph.nodes[name]
    lineage = [name, *_ancestors(graph, name)]
    current = {n: graph.nodes[n].fingerprint for n in lineage}
    if any(all(run.get(n) == fp for n, fp in current.items()) for run in runs):
        if record.get("fingerprint") != node.fingerprint:
            return "cached: computed by an earlier run with these parameters"
        return _cached_rows(record)
    if not record.get("outputs"):
        return "not cached: runs"
    if not any(run.get(name) == node.fingerprint for run in runs):
        return "changed (parameters or version): reruns"
    rows = sum(n for _, n in record["outputs"]) if record.get("fingerprint") == node.fingerprint else 0
    return f"upstream changed: reruns the batches whose input rows differ ({rows:,} rows cached)"


def _cached_rows(record: dict[str, Any]) -> str:
    rows = sum(n for _, n in record.get("outputs", []))
    failed = record.get("summary", {}).get("failed", 0)
    if failed:  # issue 13's failed rows: a rerun retries the batches holding them
        return (f"cached: {rows:,} rows, {failed:,} of them failed: the next run retries the batches holding them "
                "(retry_failed=false keeps them)")
    return f"cached: {rows:,} rows"


def _ancestors(graph: plan.Graph, name: str) -> set[str]:
    found: set[str] = set()
    todo = graph.predecessors(name)
    while todo:
        current = todo.pop()
        if current not in found:
            found.add(current)
            todo.extend(graph.predecessors(current))
    return found


def explain(target: str, cache_dir: str | Path | None = None) -> str:
    """For the last run against the one before it: per step, hit or miss and why."""
    root = cache_root(cache_dir)
    pdir = find_pipeline_dir(target, root)
    runs = sorted((pdir / "runs").glob("*.json")) if (pdir / "runs").is_dir() else []
    if not runs:
        raise CacheError(f"pipeline folder {pdir} records no finished run yet: run it, then explain")
    last = json.loads(runs[-1].read_text())
    # The run before may be another parameterization's (its own folder): that is what changed.
    earlier = [r for r in pdir.parent.glob("*/runs/*.json") if r.name < runs[-1].name]
    before = json.loads(max(earlier, key=lambda r: r.name).read_text()) if earlier else None
    lines = [f"{pdir.parent.name} ({pdir.name[:12]}): last run vs {'the one before' if before else 'no earlier run'}"]
    changed: set[str] = set()  # steps whose output rows differ from the run before
    for name, step in last["steps"].items():
        prev = (before or {}).get("steps", {}).get(name)
        if prev is None or prev.get("outputs") != step.get("outputs"):
            changed.add(name)
        lines.append(f"  {name}: {_verdict(name, step, prev, last, changed)}")
        lines += _failed_rows(step)
    return "\n".join(lines)


def _failed_rows(step: dict[str, Any]) -> list[str]:
    """The step's failed rows of the last run (a rerun retries them), with their errors."""
    if not step.get("failed"):
        return []
    shown = step.get("failures", [])
    lines = [f"    {step['failed']} failed row(s), retried by the next run (unless retry_failed=false):"]
    lines += [f"      row {row}: {error}" for row, error in shown]
    if step["failed"] > len(shown):
        lines.append(f"      ... and {step['failed'] - len(shown)} more (synthgen_metadata.error_<step> in the dataset)")
    return lines


def _verdict(name: str, step: dict[str, Any], prev: dict[str, Any] | None, run: dict[str, Any],
             changed: set[str]) -> str:
    if step.get("kind") == plan.StepKind.GENERATOR:  # a source is read on every run; what matters is its rows
        news = " — its rows changed" if prev is not None and name in changed else ""
        return f"source read ({step.get('rows', 0):,} rows){news}"
    hits, computed = step.get("cache_hits", 0), step.get("computed", 0)
    if computed == 0:
        return f"hit ({hits} batches from cache)"
    counts = f"miss ({hits} batches from cache, {computed} computed)"
    return f"{counts} — {_reason(name, step, prev, run, changed)}"


def _reason(name: str, step: dict[str, Any], prev: dict[str, Any] | None, run: dict[str, Any],
            changed: set[str]) -> str:
    if step.get("forced"):
        return "use_cache=False"
    if prev is None:
        return "first run of this step"
    old, new = prev.get("params", {}), step.get("params", {})
    if old.get("type") == new.get("type") and prev.get("fingerprint") != step.get("fingerprint"):
        return _changed(_output_relevant(old), _output_relevant(new)) or "version bumped (the step's code changed)"
    upstream = [c["from"] for c in run.get("connections", []) if c["to"] == name and c["from"] in changed]
    if upstream:
        return f"its input rows changed because upstream step '{upstream[0]}' did"
    return "its input rows changed (new or different input data)"


def _output_relevant(params: dict[str, Any], kind: Kind = "step") -> dict[str, Any]:
    """A step's recorded parameters (or its LLM's) without those its class declares outside the
    fingerprint, so that a changed batch size is never named as the reason of a miss."""
    cls = _registered_class(params.get("type"), kind) or _base_class(params, kind)
    return {k: _output_relevant(v, "llm") if isinstance(v, dict) and "type" in v else v
            for k, v in params.items() if k not in cls.model_fields or in_fingerprint(cls, k)}


def _registered_class(name: Any, kind: Kind) -> type[BaseModel] | None:
    try:
        return get_registry().entry(kind, name).load() if isinstance(name, str) else None
    except RegistryError:  # a plugin since removed: compare everything it recorded
        return None


def _base_class(params: dict[str, Any], kind: Kind) -> type[BaseModel]:
    # A class no plugin registers (a step defined in a script): what its base class declares still holds.
    # Its recorded import path is never imported: the cache is untrusted input.
    if kind == "llm":
        return LLM
    return GeneratorStep if "batch_size" in params else Step


def _changed(old: dict[str, Any], new: dict[str, Any], prefix: str = "") -> str:
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            inner = _changed(a, b, f"{prefix}{key}.")
            if inner:
                return inner
        elif a != b and key not in ("class",):
            return f"parameter `{prefix}{key}` changed from {a!r} to {b!r}"
    return ""


def gc(cache_dir: str | Path | None = None) -> str:
    """Remove objects and batch records that no cached pipeline refers to.

    Every pipeline folder is locked meanwhile: gc refuses to run beside a pipeline that is running,
    and no run starts during it. A run killed before it saved still keeps its batches (its log).

    Raises:
        CacheError: a pipeline is running on this cache.
    """
    remote = resolve_cache_root(cache_dir).remote
    if remote:
        raise CacheError(
            f"synthgen cache gc cannot clean the shared cache at {remote}: other drivers' pipelines refer "
            "to objects there, and only this machine's are known here. Expire old objects with the bucket's "
            "lifecycle rules instead (the objects/ and batches/ prefixes; keep requests/, the paid answers)"
        )
    root = cache_root(cache_dir)
    with ExitStack() as locks:
        for pdir in _pipeline_dirs(root):
            locks.enter_context(run_lock(pdir, pdir.parent.name, doing="collecting garbage"))
        return _collect(root, _live_objects(root))


def _live_objects(root: Path) -> set[str]:
    return {digest for pdir in _pipeline_dirs(root) for digest in _pipeline_objects(pdir)}


def _pipeline_objects(pdir: Path) -> set[str]:
    """The objects a pipeline folder names: its inline rows and its steps' batches (saved or logged)."""
    live: set[str] = set(_json(pdir / INLINE_DATA).get("objects", []))
    for f in (pdir / "batch_manager_steps").glob("*.json"):
        live.update(d for d, _ in _json(f).get("outputs", []))
    for log in (pdir / "batch_manager_steps").glob("*.log"):
        live.update(line.split()[0] for line in log.read_text().splitlines() if line.strip())
    return live


def _with_columns(store: Store, digests: set[str]) -> set[str]:
    """``digests`` and the column objects of those that are batches of columns."""
    return digests | {column for digest in digests for column in store.referenced_objects(digest)}


def _collect(root: Path, live: set[str]) -> str:
    store = Store(root)
    live = _with_columns(store, live)  # a column stays while any kept batch names it
    removed = freed = 0
    for record in (root / "batches").rglob("*.json") if (root / "batches").exists() else []:
        digest = _json(record).get("digest")
        if digest not in live:
            record.unlink()
    for obj in (root / "objects").rglob("*.arrow") if (root / "objects").exists() else []:
        if obj.stem not in live:
            freed += obj.stat().st_size
            obj.unlink()
            removed += 1
    del store
    return f"removed {removed} unreferenced objects ({_human(freed)}); LLM responses in requests/ are kept"


def clear_all_summary(cache_dir: str | Path | None = None) -> str:
    """What ``synthgen cache clear`` with no name would delete, paid work first (for its confirmation).

    Raises:
        CacheError: there is no cache there.
    """
    root = cache_root(cache_dir)
    answers = [f for f in (root / "requests").rglob("*") if f.is_file()] if (root / "requests").is_dir() else []
    pipelines = len(_pipeline_dirs(root))
    return (f"{len(answers):,} paid LLM answers, {pipelines} pipeline folder(s) and every cached batch "
            f"({_human(_size(root))} in {root})")


def clear(name: str | None = None, cache_dir: str | Path | None = None) -> str:
    """Remove one pipeline's folders (``name``) or the whole cache (no name)."""
    root = cache_root(cache_dir)
    remote = resolve_cache_root(cache_dir).remote
    if name is None:
        if remote:
            raise CacheError(f"synthgen cache clear will not delete the shared cache at {remote} (other "
                             "drivers may use it): name a pipeline to forget its folder here, or delete the "
                             "prefix with your storage tools")
        shutil.rmtree(root)
        return f"removed the whole cache at {root}"
    check_name("pipeline", name)  # `clear ..` must not remove the folder around the cache
    if not inside(root, name).is_dir() or name in _SHARED:
        names = sorted({p.parent.name for p in _pipeline_dirs(root)})
        raise CacheError(f"no cached pipeline named '{name}' in {root}. Cached: {', '.join(names) or 'none'}")
    shutil.rmtree(inside(root, name))
    if remote:
        return f"removed pipeline '{name}' from {root}; its objects and answers stay in {remote}"
    return f"removed pipeline '{name}' from {root}; run `synthgen cache gc` to free objects only it used"
