"""The pipeline's folder in the cache: pipeline.yaml, the batch manager files, leaf data, run history.

The store alone is enough to resume (every batch is keyed by content); these files say what the
last run did, let a finished run return at once, and feed ``synthgen cache ls/explain``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from filelock import FileLock, Timeout
from loguru import logger

from synthgen.errors import CacheError
from synthgen.store import Store, write_atomic
from synthgen.yaml_io import dump_yaml

ROWS_PER_FILE = 100_000
OFFLINE_JOBS = "offline_batch_jobs.json"


@contextmanager
def run_lock(pdir: Path, name: str, doing: str = "") -> Iterator[None]:
    """One run per pipeline folder at a time. A folder is one parameterization of a pipeline, so a second
    run here computes the same dataset: it waits for the first and then reuses what it wrote (sweep jobs
    of other parameters have folders of their own and run beside it). A lock is a kernel lock: it goes
    with its holder, so a killed run never blocks the next.

    Args:
        pdir: the pipeline folder.
        name: the pipeline's name, for the messages.
        doing: what the caller is (``"collecting garbage"``) when it is not a run: it fails at once.

    Raises:
        CacheError: ``doing`` is given and a run holds the folder.
    """
    pdir.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(pdir / ".lock"))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        if doing:
            raise CacheError(f"pipeline '{name}' is running on this cache ({pdir}): wait for it to finish "
                             f"before {doing}") from None
        logger.info(f"another run of pipeline '{name}' with the same parameters is running in {pdir}: waiting for "
                    "it, then this run reuses what it computed")
        lock.acquire()
    try:
        yield
    finally:
        lock.release()


class Journal:
    """Reads and writes the files of one ``<cache_dir>/<name>/<signature>/`` folder.

    Args:
        pdir: the folder.
        sources: the generators' ``source_state()`` for this run: a finished run counts as finished
            only for the same sources (rows appended to an input file make it unfinished).
    """

    def __init__(self, pdir: Path, sources: dict[str, Any] | None = None,
                 fingerprints: dict[str, str] | None = None) -> None:
        self.pdir = pdir
        self.sources = sources or {}
        self.fingerprints = fingerprints or {}

    @property
    def data_dir(self) -> Path:
        return self.pdir / "data"

    def read(self) -> dict[str, Any]:
        try:
            return json.loads((self.pdir / "batch_manager.json").read_text())
        except (FileNotFoundError, ValueError):
            return {}

    def finished_with(self, aggregated_signature: str) -> bool:
        state = self.read()
        return bool(state.get("finished")) and state.get("aggregated_steps_signature") == aggregated_signature \
            and state.get("sources", {}) == self.sources and self.data_dir.exists()

    def failed_rows(self) -> int:
        """Rows that failed in the last run, over all steps (a finished run with failures is retried)."""
        return sum(int(step.get("failed", 0)) for step in self.read().get("steps", {}).values())

    def mark_unfinished(self) -> None:
        """A run is starting: until it ends, this folder's data/ is not the finished dataset of the
        pipeline.yaml it is about to get (a kill -9 now must not leave a stale ``finished``)."""
        state = self.read()
        if state.get("finished"):
            write_atomic(self.pdir / "batch_manager.json", json.dumps({**state, "finished": False}, indent=1).encode())

    def write_pipeline_yaml(self, dump: dict[str, Any]) -> None:
        write_atomic(self.pdir / "pipeline.yaml", dump_yaml(dump).encode())

    def save(self, dump: dict[str, Any], stages: list[list[str]], summary: dict[str, dict[str, int]],
             outputs: dict[str, list[tuple[str, int]]], finished: bool) -> None:
        state = {"aggregated_steps_signature": dump["aggregated_steps_signature"], "signature": dump["signature"],
                 "finished": finished, "stages": stages, "updated_at": time.time(), "steps": summary,
                 "sources": self.sources}
        write_atomic(self.pdir / "batch_manager.json", json.dumps(state, indent=1).encode())
        steps = dump["pipeline"]["steps"]
        for name, objs in outputs.items():
            record = {"params": steps.get(name, {}), "summary": summary.get(name, {}), "outputs": objs,
                      "fingerprint": dump["provenance"][name]["fingerprint"]}
            write_atomic(self.pdir / "batch_manager_steps" / f"{name}.json", json.dumps(record).encode())
            for log in (self.pdir / "batch_manager_steps").glob(f"{name}.*.log"):
                log.unlink(missing_ok=True)

    def _log_path(self, step: str) -> Path:
        return self.pdir / "batch_manager_steps" / f"{step}.{self.fingerprints.get(step, '')[:16]}.log"

    def log_output(self, step: str, digest: str, rows: int) -> None:
        """Note a released batch's object as soon as it is released: ``synthgen cache gc`` keeps it even
        if this run is killed before it saves (the step's JSON record replaces the log when it does)."""
        path = self._log_path(step)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a") as fh:
            fh.write(f"{digest} {rows}\n")

    def has_progress(self, step: str) -> bool:
        """Whether an earlier run of this step, with its current fingerprint, left batches behind (a
        finished or saved run's record, or a killed run's log): a resume, mostly answered from the cache."""
        if self._log_path(step).exists():
            return True
        try:
            record = json.loads((self.pdir / "batch_manager_steps" / f"{step}.json").read_text())
        except (FileNotFoundError, ValueError):
            return False
        return bool(record.get("outputs")) and record.get("fingerprint") == self.fingerprints.get(step)

    def offline_jobs(self) -> dict[str, list[str]]:
        """Pending offline batch job ids per step, as the last pending run left them."""
        try:
            return dict(json.loads((self.pdir / OFFLINE_JOBS).read_text()))
        except (FileNotFoundError, ValueError):
            return {}

    def record_offline_jobs(self, step: str, jobs_ids: tuple[str, ...]) -> None:
        jobs = {**self.offline_jobs(), step: list(jobs_ids)}
        write_atomic(self.pdir / OFFLINE_JOBS, json.dumps(jobs, indent=1).encode())

    def clear_offline_jobs(self) -> None:
        """A finished run collected every job: nothing is pending any more."""
        (self.pdir / OFFLINE_JOBS).unlink(missing_ok=True)

    def record_run(self, dump: dict[str, Any], fingerprints: dict[str, str], summary: dict[str, Any],
                   forced: set[str]) -> None:
        """Append this run to the history that ``synthgen cache explain`` compares."""
        run = {"time": time.time(), "aggregated_steps_signature": dump["aggregated_steps_signature"],
               "steps": {n: {"fingerprint": fingerprints[n], "params": dump["pipeline"]["steps"][n],
                             "forced": n in forced, **summary.get(n, {})} for n in fingerprints},
               "connections": dump["pipeline"]["connections"]}
        write_atomic(self.pdir / "runs" / f"{time.time_ns()}.json", json.dumps(run).encode())


def write_leaf_data(store: Store, data_dir: Path, leaf: str, outputs: list[tuple[str, int]]) -> None:
    """Write a leaf step's outputs, in order, as ``data/<leaf>/00001.parquet, ...``."""
    folder = data_dir / leaf
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.parquet"):
        old.unlink()
    number = 0
    for chunk in _chunks(outputs):
        table = concat_tables([store.get_table(digest) for digest, _ in chunk])
        number += 1
        write_parquet_atomic(table, folder / f"{number:05d}.parquet")
    if number == 0:
        write_parquet_atomic(pa.table({}), folder / "00001.parquet")


def _chunks(outputs: list[tuple[str, int]]) -> Iterator[list[tuple[str, int]]]:
    chunk: list[tuple[str, int]] = []
    rows = 0
    for digest, n in outputs:
        chunk.append((digest, n))
        rows += n
        if rows >= ROWS_PER_FILE:
            yield chunk
            chunk, rows = [], 0
    if chunk:
        yield chunk


def concat_tables(tables: list[pa.Table]) -> pa.Table:
    """Concatenate batch tables whose schemas may differ (a column null in one batch, typed in another)."""
    tables = [_unpickle_for_export(t) for t in tables if t.num_rows or t.num_columns]
    tables = [t.drop_columns(["__empty__"]) if "__empty__" in t.column_names else t for t in tables]
    if not tables:
        return pa.table({})
    try:
        return pa.concat_tables(tables, promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        from synthgen.store import rows_to_table, table_to_rows

        rows = [row for t in tables for row in table_to_rows(t)]
        return _unpickle_for_export(rows_to_table(rows))


def _unpickle_for_export(table: pa.Table) -> pa.Table:
    """Columns Arrow could not type are exported as JSON text, so the dataset keeps every value."""
    meta = table.schema.metadata or {}
    pickled = json.loads(meta.get(b"synthgen.pickled_columns", b"[]"))
    if not pickled:
        return table
    import pickle

    for name in pickled:
        values = [json.dumps(pickle.loads(v), default=str) for v in table.column(name).to_pylist()]
        table = table.set_column(table.schema.get_field_index(name), name, pa.array(values, pa.string()))
    return table.replace_schema_metadata({})


def write_parquet_atomic(table: pa.Table, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    pq.write_table(table, tmp)
    tmp.replace(path)
