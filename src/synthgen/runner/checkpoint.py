"""Checkpoints: export the leaf datasets written so far while a run goes on.

The checkpoint is one folder that grows by Parquet shards (:class:`CheckpointExport`): each export
writes only the rows released since the previous one, so the total written stays about the final
size, and the folder reads as one dataset at any time. Subclass :class:`CheckpointStrategy` and
override :meth:`should_export` to decide when (on a schedule, on a signal, ...).
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from typing import Any

import fsspec

from synthgen.store import Store
from synthgen.values import concat_tables, parquet_bytes
from synthgen.yaml_io import dump_yaml

MANIFEST = "manifest.json"
README = "README.md"
PIPELINE_YAML = "pipeline.yaml"


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
    """A run's checkpoints, exported incrementally to one folder (a local path or any fsspec URL).

    Each export writes only the leaf rows released since the previous one, as new Parquet shards
    (``data/train-00001.parquet``, ... for a single leaf, ``<leaf>/train-00001.parquet`` otherwise: the
    layout ``Dataset.push_to_hub`` uses), then rewrites ``manifest.json`` (``rows``, ``signature``,
    ``exports``, and per shard its config, path, rows, the cache objects it holds and its SHA-256) and a
    README.md whose ``configs:`` metadata names the shards. So the total written is about the final
    size, whatever the number of exports; ``Distiset.load_from_disk`` and ``datasets.load_dataset``
    read the folder as one dataset at any time.

    Shards of an earlier run with the same signature are kept as far as this run releases the same
    objects in the same order (a resumed run); any other shard is removed.

    Args:
        path: the folder or URL.
        signature: the pipeline's aggregated signature.
        extra: ``{"storage_options": {...}}`` for a bucket.
        pipeline_yaml: the run's pipeline.yaml, written beside the shards (once).
    """

    def __init__(self, path: str, signature: str, extra: dict[str, Any],
                 pipeline_yaml: dict[str, Any] | None = None) -> None:
        self.pipeline_yaml = pipeline_yaml
        self.location = path.rstrip("/")
        self.fs, self.root = fsspec.core.url_to_fs(path, **extra.get("storage_options", {}))
        self.signature = signature
        self.exports = 0
        self.shards: list[dict[str, Any]] = self._earlier_shards()

    def export(self, store: Store, outputs: dict[str, list[tuple[str, int]]]) -> int:
        """Append the rows of ``outputs`` (per leaf, the released objects in order) not exported yet.

        Returns:
            The number of rows the checkpoint holds now.
        """
        for config, objects in _configs(outputs).items():
            done = [s for s in self.shards if s["config"] == config]
            exported = [d for s in done for d in s["objects"]]
            if [d for d, _ in objects[: len(exported)]] != exported or len(objects) < len(exported):
                self._drop(done)  # not a continuation of what was exported: export this leaf again
                exported = []
            new = objects[len(exported):]
            if new:
                self._write_shard(store, config, new)
        if self.exports == 0 and self.pipeline_yaml is not None:
            with self.fs.open(f"{self.root}/{PIPELINE_YAML}", "w") as fh:
                fh.write(dump_yaml(self.pipeline_yaml))
        self.exports += 1
        return self._write_manifest()

    def _write_shard(self, store: Store, config: str, objects: list[tuple[str, int]]) -> None:
        table = concat_tables([store.get_table(d) for d, _ in objects])
        number = 1 + sum(1 for s in self.shards if s["config"] == config)
        path = f"{_folder(config)}/train-{number:05d}.parquet"
        data = parquet_bytes(table)
        self.fs.makedirs(f"{self.root}/{_folder(config)}", exist_ok=True)
        with self.fs.open(f"{self.root}/{path}", "wb") as fh:
            fh.write(data)
        self.shards.append({"config": config, "path": path, "rows": table.num_rows,
                            "objects": [d for d, _ in objects], "sha256": hashlib.sha256(data).hexdigest()})

    def _write_manifest(self) -> int:
        rows = sum(s["rows"] for s in self.shards)  # over every leaf, as the strategy counts them
        manifest = {"rows": rows, "created_at": time.time(), "signature": self.signature,
                    "exports": self.exports, "shards": self.shards}
        with self.fs.open(f"{self.root}/{README}", "w") as fh:
            fh.write(_card(sorted({s["config"] for s in self.shards})))
        # The manifest last: a reader that sees it finds every shard it lists.
        with self.fs.open(f"{self.root}/{MANIFEST}", "w") as fh:
            json.dump(manifest, fh, indent=1)
        return rows

    def _earlier_shards(self) -> list[dict[str, Any]]:
        try:
            with self.fs.open(f"{self.root}/{MANIFEST}") as fh:
                earlier = json.load(fh)
        except (FileNotFoundError, ValueError):
            return []
        shards = list(earlier.get("shards", []))
        if earlier.get("signature") == self.signature:
            return shards
        self._drop(shards)
        return []

    def _drop(self, shards: list[dict[str, Any]]) -> None:
        for shard in shards:
            self.fs.rm(f"{self.root}/{shard['path']}")
            if shard in self.shards:
                self.shards.remove(shard)


def _configs(outputs: dict[str, list[tuple[str, int]]]) -> dict[str, list[tuple[str, int]]]:
    """Leaf name -> config name, as in a Distiset (``default`` for a single leaf)."""
    return {"default" if len(outputs) == 1 else leaf: objects for leaf, objects in outputs.items()}


def _folder(config: str) -> str:
    return "data" if config == "default" else config


def _card(configs: list[str]) -> str:
    """A README.md whose ``configs:`` metadata lets ``datasets`` (and the Hub) find every leaf's shards."""
    lines = ["---", "tags: [synthetic, synthgen]", "configs:"]
    for config in configs:
        lines += [f"- config_name: {config}", "  data_files:", f"  - split: train\n    path: {_folder(config)}/train-*"]
    return "\n".join([*lines, "---", "", "A synthgen checkpoint: the rows a run had released when it was written.", ""])
