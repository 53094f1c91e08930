"""Checkpoints: export the leaf datasets written so far while a run goes on.

The checkpoint is one folder that grows by Parquet shards (:class:`CheckpointExport`): each export
writes only the rows released since the previous one, so the total written stays about the final
size, and the folder reads as one dataset at any time. Subclass :class:`CheckpointStrategy` and
override :meth:`should_export` to decide when (on a schedule, on a signal, ...).
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from dataclasses import dataclass, field
from typing import Any

from synthgen.errors import CheckpointError, ConfigError, SynthgenError
from synthgen.runner.checkpoint_targets import open_target
from synthgen.store import Store
from synthgen.values import concat_tables, parquet_bytes
from synthgen.yaml_io import dump_yaml

MANIFEST = "manifest.json"
README = "README.md"
PIPELINE_YAML = "pipeline.yaml"
SHARD = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]*/train-[0-9]{5}(-[0-9a-f]{16})?\.parquet")


@dataclass
class CheckpointStrategy:
    """When to export.

    Args:
        every_n_rows: export each time this many more leaf rows were written.
        every_seconds: export at least this often.
        extra_params: passed to the writer, e.g. ``{"storage_options": {...}}`` for a cloud bucket.
    """

    every_n_rows: int | None = None
    every_seconds: float | None = None
    extra_params: dict[str, Any] = field(default_factory=dict)
    _last_rows: int = field(default=0, init=False, repr=False)
    _last_time: float = field(default_factory=time.monotonic, init=False, repr=False)

    def __post_init__(self) -> None:
        # 0 would never export during the run and a negative number on every turn of the loop: both silently.
        for name, value in (("every_n_rows", self.every_n_rows), ("every_seconds", self.every_seconds)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0):
                raise ConfigError(f"CheckpointStrategy({name}={value!r}): give a positive number, or None "
                                  "(with both None, the checkpoint is exported once, when the run ends)")
        if isinstance(self.every_n_rows, float) and not self.every_n_rows.is_integer():
            raise ConfigError(f"CheckpointStrategy(every_n_rows={self.every_n_rows!r}): give a whole number of rows")

    def should_export(self, rows: int, seconds_since_last: float) -> bool:
        """Return True when the rows written so far should be exported now."""
        if self.every_n_rows and rows - self._last_rows >= self.every_n_rows:
            return True
        return bool(self.every_seconds and seconds_since_last >= self.every_seconds and rows > self._last_rows)

    def maybe_export(self, rows: int, export: Any) -> None:
        if self.should_export(rows, time.monotonic() - self._last_time):
            export()
            self._last_rows, self._last_time = rows, time.monotonic()


class CheckpointExport:
    """A run's checkpoints, exported incrementally to one folder (a local path or any fsspec URL) or to a
    Hub repository (``hf://datasets/<owner>/<name>``, one commit per export: :mod:`checkpoint_targets`).

    Each export writes only the leaf rows released since the previous one, as new Parquet shards
    (``data/train-00001-<sha256 prefix>.parquet``, ... for a single leaf, ``<leaf>/train-...`` otherwise:
    the layout ``Dataset.push_to_hub`` uses), then rewrites ``manifest.json`` (``rows``, ``signature``,
    ``exports``, and per shard its config, path, rows, the cache objects it holds and its SHA-256) and a
    README.md whose ``configs:`` metadata names the shards. So the total written is about the final
    size, whatever the number of exports; ``Distiset.load_from_disk`` and ``datasets.load_dataset``
    read the folder as one dataset at any time. An export with nothing new writes nothing.

    Shards of an earlier run with the same signature are kept as far as this run releases the same
    objects in the same order (a resumed run); any other shard is removed.

    Args:
        path: the folder or URL.
        signature: the pipeline's aggregated signature.
        extra: ``{"storage_options": {...}}``: a bucket's credentials, or ``{"token": ...}`` for the Hub.
        pipeline_yaml: the run's pipeline.yaml, written beside the shards (once).

    Raises:
        CheckpointError: the target cannot be read (unreachable, no permission, a bad URL).
    """

    def __init__(self, path: str, signature: str, extra: dict[str, Any],
                 pipeline_yaml: dict[str, Any] | None = None) -> None:
        self.pipeline_yaml = pipeline_yaml
        self.location = path.rstrip("/")
        self.signature = signature
        self.exports = 0
        self._removed: list[str] = []  # shard files to remove with the next export that succeeds
        self.target = self._guarded("read", open_target, path, dict(extra.get("storage_options", {})))
        self.shards, self._current = self._guarded("read", self._earlier_shards)

    def export(self, store: Store, outputs: dict[str, list[tuple[str, int]]]) -> int:
        """Append the rows of ``outputs`` (per leaf, the released objects in order) not exported yet.

        Returns:
            The number of rows the checkpoint holds now.

        Raises:
            CheckpointError: a write failed; nothing of this export counts as exported, so the next
                export writes it again.
        """
        before = (list(self.shards), self._current, self.exports, list(self._removed))
        try:
            return self._guarded("write", self._export, store, outputs)
        except CheckpointError:
            self.shards, self._current, self.exports, self._removed = before
            self.target.discard()
            raise

    def _export(self, store: Store, outputs: dict[str, list[tuple[str, int]]]) -> int:
        for config, objects in _configs(outputs).items():
            done = [s for s in self.shards if s["config"] == config]
            exported = [d for s in done for d in s["objects"]]
            if [d for d, _ in objects[: len(exported)]] != exported or len(objects) < len(exported):
                self._drop(done)  # not a continuation of what was exported: export this leaf again
                exported = []
            new = objects[len(exported):]
            if new:
                self._write_shard(store, config, new)
        rows = sum(s["rows"] for s in self.shards)  # over every leaf, as the strategy counts them
        if self._current:
            return rows  # nothing new since the last export (a cached rerun, or no rows released)
        if self.exports == 0 and self.pipeline_yaml is not None:
            self.target.put(PIPELINE_YAML, dump_yaml(self.pipeline_yaml).encode())
        self.exports += 1
        self._write_manifest(rows)
        self.target.commit(f"synthgen checkpoint: {rows:,} rows", self._removed)
        self._current, self._removed = True, []
        return rows

    def _write_shard(self, store: Store, config: str, objects: list[tuple[str, int]]) -> None:
        table = concat_tables([store.get_table(d) for d, _ in objects])
        number = 1 + sum(1 for s in self.shards if s["config"] == config)
        data = parquet_bytes(table)
        sha256 = hashlib.sha256(data).hexdigest()
        # The content in the name: `datasets` caches a local folder by the file names its card lists, so
        # a name must never stand for two contents (a folder that grew would load stale from its cache).
        path = f"{_folder(config)}/train-{number:05d}-{sha256[:16]}.parquet"
        self.target.put(path, data)
        self.shards.append({"config": config, "path": path, "rows": table.num_rows, "bytes": len(data),
                            "objects": [d for d, _ in objects], "sha256": sha256})
        self._current = False

    def _write_manifest(self, rows: int) -> None:
        manifest = {"rows": rows, "created_at": time.time(), "signature": self.signature,
                    "exports": self.exports, "shards": self.shards}
        self.target.put(README, _card(self.shards).encode())
        # The manifest last: a reader that sees it finds every shard it lists.
        self.target.put(MANIFEST, json.dumps(manifest, indent=1).encode())

    def _earlier_shards(self) -> tuple[list[dict[str, Any]], bool]:
        """The shards an earlier run of this pipeline exported here, and whether the manifest is there."""
        text = self.target.read_text(MANIFEST)
        try:
            earlier = json.loads(text) if text is not None else {}
        except ValueError:
            earlier = {}
        shards = [s for s in earlier.get("shards", []) if isinstance(s, dict)]
        if earlier.get("signature") == self.signature and all(_ours(s) for s in shards):
            kept = self._intact(shards)
            return kept, len(kept) == len(shards)
        self._remove(shards)  # another pipeline's: removed by the first export
        return [], False

    def _intact(self, shards: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Of an earlier export's shards, those still in the folder with the size written, up to a leaf's
        first one that is not (removed or cut short since): the export writes the rest again."""
        sizes = self.target.sizes()
        kept: list[dict[str, Any]] = []
        broken: set[str] = set()
        for shard in shards:
            size = sizes.get(shard["path"])
            if shard["config"] in broken or size is None or size != shard.get("bytes", size):
                broken.add(shard["config"])
                self._remove([shard])
            else:
                kept.append(shard)
        return kept

    def _drop(self, shards: list[dict[str, Any]]) -> None:
        self._remove(shards)
        for shard in shards:
            self.shards.remove(shard)
        self._current = self._current and not shards

    def _remove(self, shards: list[dict[str, Any]]) -> None:
        """Remove the files of ``shards`` with the next export: only names this class writes, whatever
        a manifest found in the folder says (never a path outside it)."""
        self._removed += [s["path"] for s in shards if _ours(s)]

    def _guarded(self, verb: str, function: Any, *args: Any) -> Any:
        """``function(*args)``, a failure of the target reported as a :class:`CheckpointError`."""
        try:
            return function(*args)
        except SynthgenError:
            raise  # the store's own (a damaged cache object): not the checkpoint's
        except Exception as exc:  # a bucket's, fsspec's or huggingface_hub's, whatever their types
            raise CheckpointError(
                f"cannot {verb} the checkpoint at '{self.location}': {type(exc).__name__}: {exc}. Check the "
                "URL, the credentials (storage_options, or HF_TOKEN for the Hub) and the connection"
            ) from exc


def _ours(shard: dict[str, Any]) -> bool:
    """Whether a shard a manifest lists is named as this class names its files (inside the folder)."""
    return isinstance(shard.get("path"), str) and SHARD.fullmatch(shard["path"]) is not None


def _configs(outputs: dict[str, list[tuple[str, int]]]) -> dict[str, list[tuple[str, int]]]:
    """Leaf name -> config name, as in a Distiset (``default`` for a single leaf)."""
    return {"default" if len(outputs) == 1 else leaf: objects for leaf, objects in outputs.items()}


def _folder(config: str) -> str:
    return "data" if config == "default" else config


def _card(shards: list[dict[str, Any]]) -> str:
    """A README.md whose ``configs:`` metadata lets ``datasets`` (and the Hub) find every leaf's shards.

    The shards are listed by name, not by a ``train-*`` pattern: ``datasets`` keys its cache of a local
    folder on the card's ``data_files`` as written, so with a pattern a folder that gained shards (or
    another folder of the same name) would load the rows cached the first time, silently.
    """
    lines = ["---", "tags: [synthetic, synthgen]", "configs:"]
    for config in sorted({s["config"] for s in shards}):
        lines += [f"- config_name: {config}", "  data_files:", "  - split: train", "    path:"]
        lines += [f"    - {s['path']}" for s in shards if s["config"] == config]
    return "\n".join([*lines, "---", "", "A synthgen checkpoint: the rows a run had released when it was written.", ""])
