"""The pipeline's folder in the cache: pipeline.yaml, the batch manager files, leaf data, run history.

The store alone is enough to resume (every batch is keyed by content); these files say what the
last run did, let a finished run return at once, and feed ``synthgen cache ls/explain``.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

import pyarrow as pa
from filelock import FileLock, Timeout
from loguru import logger

from synthgen.errors import CacheError
from synthgen.paths import Confined, inside
from synthgen.records import DamagedRecord, seal, unseal
from synthgen.store import Store, write_atomic
from synthgen.values import concat_tables, parquet_bytes
from synthgen.yaml_io import dump_yaml

ROWS_PER_FILE = 100_000
OFFLINE_JOBS = "offline_batch_jobs.json"
LEAF_DATA = "leaf_data"  # per leaf, the hash of each of its data/ files
MAPPED = "arrow"  # per leaf, its rows as uncompressed Arrow files: what the returned Distiset maps


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

    Every JSON file here carries its content hash (:mod:`synthgen.records`): one that does not match
    is reported once and read as absent, so the run recomputes what it said rather than trust it.

    Args:
        pdir: the folder.
        sources: the generators' ``source_state()`` for this run: a finished run counts as finished
            only for the same sources (rows appended to an input file make it unfinished).
    """

    def __init__(self, pdir: Path, sources: dict[str, Any] | None = None,
                 fingerprints: dict[str, str] | None = None) -> None:
        self.pdir = pdir
        self.folder = Confined(pdir)
        self.sources = sources or {}
        self.fingerprints = fingerprints or {}
        self._logs: dict[str, BinaryIO] = {}  # step -> its open log (a line per batch: no open per batch)

    @property
    def data_dir(self) -> Path:
        return self.pdir / "data"

    def read(self) -> dict[str, Any]:
        return read_record(self.pdir, "batch_manager.json")

    def finished_with(self, aggregated_signature: str) -> bool:
        state = self.read()
        return bool(state.get("finished")) and state.get("aggregated_steps_signature") == aggregated_signature \
            and state.get("sources", {}) == self.sources and leaf_data_intact(self.pdir)

    def failed_rows(self) -> int:
        """Rows that failed in the last run, over all steps (a finished run with failures is retried)."""
        return sum(int(step.get("failed", 0)) for step in self.read().get("steps", {}).values())

    def mark_unfinished(self) -> None:
        """A run is starting: until it ends, this folder's data/ is not the finished dataset of the
        pipeline.yaml it is about to get (a kill -9 now must not leave a stale ``finished``)."""
        state = self.read()
        if state.get("finished"):
            write_record(self.pdir, "batch_manager.json", {**state, "finished": False})

    def write_pipeline_yaml(self, dump: dict[str, Any]) -> None:
        write_atomic(self.pdir / "pipeline.yaml", dump_yaml(dump).encode())

    def record_inline_data(self, digests: list[str]) -> None:
        """The objects holding the pipeline's inline rows (kept by ``cache gc`` while this folder exists)."""
        if digests or (self.pdir / INLINE_DATA).exists():
            write_record(self.pdir, INLINE_DATA, {"objects": digests})

    def save(self, dump: dict[str, Any], stages: list[list[str]], summary: dict[str, dict[str, int]],
             outputs: dict[str, list[tuple[str, int]]], finished: bool) -> None:
        state = {"aggregated_steps_signature": dump["aggregated_steps_signature"], "signature": dump["signature"],
                 "finished": finished, "stages": stages, "updated_at": time.time(), "steps": summary,
                 "sources": self.sources}
        write_record(self.pdir, "batch_manager.json", state)
        steps = dump["pipeline"]["steps"]
        for name, objs in outputs.items():
            record = {"params": steps.get(name, {}), "summary": summary.get(name, {}), "outputs": objs,
                      "fingerprint": dump["provenance"][name]["fingerprint"]}
            write_record(self.pdir, f"batch_manager_steps/{name}.json", record)
            if name in self._logs:
                self._logs.pop(name).close()
            for log in self.folder.path("batch_manager_steps").glob(f"{name}.*.log"):
                log.unlink(missing_ok=True)

    def _log_path(self, step: str) -> Path:
        return self.folder.path("batch_manager_steps", f"{step}.{self.fingerprints.get(step, '')[:16]}.log")

    def log_output(self, step: str, digest: str, rows: int) -> None:
        """Note a released batch's object as soon as it is released: ``synthgen cache gc`` keeps it even
        if this run is killed before it saves (the step's JSON record replaces the log when it does)."""
        log = self._logs.get(step)
        if log is None:
            path = self._log_path(step)
            path.parent.mkdir(parents=True, exist_ok=True)
            log = self._logs[step] = path.open("ab", buffering=0)  # each line one write: kill -9 loses none
        log.write(f"{digest} {rows}\n".encode())

    def has_progress(self, step: str) -> bool:
        """Whether an earlier run of this step, with its current fingerprint, left batches behind (a
        finished or saved run's record, or a killed run's log): a resume, mostly answered from the cache."""
        if self._log_path(step).exists():
            return True
        record = read_record(self.pdir, f"batch_manager_steps/{step}.json")
        return bool(record.get("outputs")) and record.get("fingerprint") == self.fingerprints.get(step)

    def offline_jobs(self) -> dict[str, list[str]]:
        """Pending offline batch job ids per step, as the last pending run left them."""
        return dict(read_record(self.pdir, OFFLINE_JOBS))

    def record_offline_jobs(self, step: str, jobs_ids: tuple[str, ...]) -> None:
        jobs = {**self.offline_jobs(), step: list(jobs_ids)}
        write_record(self.pdir, OFFLINE_JOBS, jobs)

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
        write_record(self.pdir, f"runs/{time.time_ns()}.json", run)


INLINE_DATA = "inline_data.json"
_REPORTED: set[str] = set()  # damaged journal files already reported by this process


def read_record(pdir: Path, name: str) -> dict[str, Any]:
    """The journal file ``name`` of ``pdir`` when it verifies, else ``{}`` (a damaged one reported once).

    Raises:
        CacheError: ``name`` would resolve outside ``pdir``.
    """
    path = inside(pdir, *name.split("/"))
    try:
        return unseal(path.read_bytes(), name)
    except FileNotFoundError:
        return {}
    except DamagedRecord as exc:
        if str(path) not in _REPORTED:
            _REPORTED.add(str(path))
            logger.warning(f"{exc} in {pdir}: it is ignored, and what it recorded is recomputed from the cache")
        return {}


def write_record(pdir: Path, name: str, value: dict[str, Any]) -> None:
    """Write the journal file ``name`` of ``pdir`` atomically, with its content hash."""
    write_atomic(inside(pdir, *name.split("/")), seal(value, name, indent=1))


def write_leaf_data(store: Store, data_dir: Path, leaf: str, outputs: list[tuple[str, int]]) -> None:
    """Write a leaf step's outputs, in order, as ``data/<leaf>/00001.parquet, ...`` and the same rows as
    uncompressed Arrow (``arrow/<leaf>/00001.arrow, ...``, which the returned Distiset memory-maps as
    ``datasets`` maps its own files), and record each file's hash (``leaf_data/<leaf>.json`` beside
    ``data/``) so a damaged file is found and rebuilt."""
    folder, mapped_folder = inside(data_dir, leaf), inside(data_dir.parent, MAPPED, leaf)
    for path, pattern in ((folder, "*.parquet"), (mapped_folder, "*.arrow")):
        path.mkdir(parents=True, exist_ok=True)
        for old in path.glob(pattern):
            old.unlink()
    hashes: dict[str, str] = {}
    mapped: dict[str, str] = {}
    for number, chunk in enumerate(_chunks(outputs), start=1):
        table = concat_tables([store.get_table(digest) for digest, _ in chunk]).combine_chunks()
        hashes[f"{number:05d}.parquet"] = write_parquet_atomic(table, folder / f"{number:05d}.parquet")
        mapped[f"{number:05d}.arrow"] = _write_hashed(arrow_bytes(table), mapped_folder / f"{number:05d}.arrow")
    if not hashes:
        hashes["00001.parquet"] = write_parquet_atomic(pa.table({}), folder / "00001.parquet")
    write_record(data_dir.parent, f"{LEAF_DATA}/{leaf}.json", {"files": hashes, "mapped": mapped})


def mapped_leaf_files(pdir: Path, leaves: list[str]) -> dict[str, list[Path]] | None:
    """Per leaf, its Arrow files (:func:`write_leaf_data`), each checked against the hash recorded when
    it was written; ``None`` when a leaf has none (no rows, or a cache written before them) or one is
    missing or damaged: the Distiset is then read from the Parquet files."""
    found: dict[str, list[Path]] = {}
    for leaf in leaves:
        files: dict[str, str] = read_record(pdir, f"{LEAF_DATA}/{leaf}.json").get("mapped", {})
        paths = [inside(pdir, MAPPED, leaf, name) for name in sorted(files)]
        if not paths or any(_file_hash(path) != files[path.name] for path in paths):
            return None
        found[leaf] = paths
    return found


def arrow_bytes(table: pa.Table) -> bytes:
    """``table`` as an uncompressed Arrow IPC stream, the format ``datasets`` memory-maps."""
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def _write_hashed(data: bytes, path: Path) -> str:
    write_atomic(path, data)
    return hashlib.blake2b(data, digest_size=20).hexdigest()


def leaf_data_intact(pdir: Path) -> bool:
    """Whether every leaf's ``data/`` files are there with the bytes written (else a warning: the run
    rebuilds them from the cached batches, without sending an LLM request again)."""
    leaves = {p.name for p in (pdir / "data").iterdir() if p.is_dir()} if (pdir / "data").is_dir() else set()
    leaves |= {p.stem for p in (pdir / LEAF_DATA).glob("*.json")}  # a leaf whose folder was deleted, too
    return bool(leaves) and all(_leaf_intact(pdir, leaf) for leaf in sorted(leaves))


def _leaf_intact(pdir: Path, leaf: str) -> bool:
    files: dict[str, str] = read_record(pdir, f"{LEAF_DATA}/{leaf}.json").get("files", {})
    on_disk = {p.name for p in inside(pdir, "data", leaf).glob("*.parquet")}
    if not files or set(files) != on_disk:
        logger.warning(f"the data files of leaf '{leaf}' in {pdir} are not the ones the finished run wrote: "
                       "rebuilding them from the cached batches (no LLM request is sent again)")
        return False
    for name, expected in files.items():
        if _file_hash(inside(pdir, "data", leaf, name)) != expected:
            logger.warning(f"data/{leaf}/{name} of the finished run in {pdir} is damaged or missing: "
                           "rebuilding it from the cached batches (no LLM request is sent again)")
            return False
    return True


def _file_hash(path: Path) -> str | None:
    try:
        return hashlib.blake2b(path.read_bytes(), digest_size=20).hexdigest()
    except (FileNotFoundError, IsADirectoryError):
        return None


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


def write_parquet_atomic(table: pa.Table, path: Path) -> str:
    """Write ``table`` as Parquet at ``path`` (whole or not at all); return the file's hash."""
    return _write_hashed(parquet_bytes(table), path)
