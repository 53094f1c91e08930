"""``Distiset``: the result of a run, a ``datasets.DatasetDict`` per leaf step."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import datasets
import fsspec
import pyarrow as pa
import pyarrow.parquet as pq
from datasets.fingerprint import generate_random_fingerprint
from datasets.table import InMemoryTable, MemoryMappedTable, Table
from datasets.table import concat_tables as concat_mapped

from synthgen.errors import ConfigError
from synthgen.names import check_name
from synthgen.values import TAGGED_JSON, concat_tables, decode_text, encoded_columns
from synthgen.yaml_io import dump_yaml, load_yaml

PIPELINE_YAML = "pipeline.yaml"
CARD = "README.md"
VALUE_ENCODING = "value_encoding.json"
"""Beside a saved Distiset: the columns stored as tagged JSON (:mod:`synthgen.values`), per config."""


class DecodeValues:
    """The format transform that gives a dataset's tagged-JSON columns back as the values the steps
    wrote (ints mixed with text, dicts with different keys, large ints, bytes, ...).

    Args:
        columns: the tagged-JSON columns.
    """

    def __init__(self, columns: list[str]) -> None:
        self.columns = columns

    def __call__(self, batch: dict[str, list[Any]]) -> dict[str, list[Any]]:
        for name in self.columns:
            if name in batch:
                batch[name] = [decode_text(name, text) for text in batch[name]]
        return batch


class ValuesDataset(datasets.Dataset):
    """A ``datasets.Dataset`` whose ``to_list()`` decodes its tagged-JSON columns, as row and column
    access already do through :class:`DecodeValues`."""

    def to_list(self) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = super().to_list()
        for name in decoded_columns(self):
            for row in rows:
                row[name] = decode_text(name, row[name])
        return rows


def with_values(dataset: datasets.Dataset, columns: list[str]) -> datasets.Dataset:
    """``dataset`` reading its tagged-JSON ``columns`` as the values the steps wrote.

    Returns:
        ``dataset`` itself when there are none, else a :class:`ValuesDataset` over the same table.
    """
    if not columns:
        return dataset
    if not isinstance(dataset, ValuesDataset):
        dataset = ValuesDataset(dataset.data, info=dataset.info, split=dataset.split,
                                fingerprint=generate_random_fingerprint())
    dataset.set_transform(DecodeValues(columns))
    return dataset


def _dataset(table: pa.Table | Table, fingerprint: str | None = None) -> datasets.Dataset:
    """The dataset of a leaf's table (an Arrow table, or a ``datasets`` table such as a memory-mapped
    one), decoding its tagged-JSON columns."""
    wrapped = table if isinstance(table, Table) else InMemoryTable(table)
    columns = encoded_columns(wrapped.schema)
    dataset = (ValuesDataset if columns else datasets.Dataset)(wrapped, fingerprint=fingerprint)
    return with_values(dataset, columns)


def decoded_columns(dataset: datasets.Dataset) -> list[str]:
    """The columns :func:`with_values` decodes in ``dataset``."""
    transform = dataset.format.get("format_kwargs", {}).get("transform")
    return list(transform.columns) if isinstance(transform, DecodeValues) else []


class Distiset(dict):  # type: ignore[type-arg]
    """A mapping leaf step name -> ``datasets.DatasetDict`` (with a ``train`` split).

    With a single leaf step the key is ``default``.
    """

    pipeline_yaml: dict[str, Any] | None = None
    failures: dict[str, dict[str, Any]] = {}  # noqa: RUF012 - replaced per instance by the run
    """Per step with failed rows: ``count``, ``rows`` and ``examples`` (``{"row": i, "error": ...}``)."""

    def save_to_disk(self, path: str | Path, storage_options: dict[str, Any] | None = None) -> None:
        """Save every leaf dataset, ``pipeline.yaml`` and the dataset card to a folder or fsspec URL."""
        path = str(path)
        encoding: dict[str, dict[str, list[str]]] = {}
        for config, dataset_dict in self.items():
            check_name("Distiset config", config)
            # The transform that decodes values is not saved by `datasets`: the list of columns is.
            encoding[config] = {split: decoded_columns(ds) for split, ds in dataset_dict.items()}
            plain = datasets.DatasetDict({split: ds.with_format(None) if decoded_columns(ds) else ds
                                          for split, ds in dataset_dict.items()})
            plain.save_to_disk(f"{path}/{config}", storage_options=storage_options)
        fs, root = fsspec.core.url_to_fs(path, **(storage_options or {}))
        fs.makedirs(root, exist_ok=True)
        with fs.open(f"{root}/{VALUE_ENCODING}", "w") as fh:
            json.dump({"encoding": TAGGED_JSON.decode(), "columns": encoding}, fh)
        if self.pipeline_yaml is not None:
            with fs.open(f"{root}/{PIPELINE_YAML}", "w") as fh:
                dump_yaml(self.pipeline_yaml, fh)
        with fs.open(f"{root}/{CARD}", "w") as fh:
            fh.write(self.dataset_card())

    @classmethod
    def load_from_disk(cls, path: str | Path, storage_options: dict[str, Any] | None = None) -> Distiset:
        """Load what :meth:`save_to_disk` wrote.

        Raises:
            ConfigError: ``path`` holds no saved Distiset.
        """
        fs, root = fsspec.core.url_to_fs(str(path), **(storage_options or {}))
        if not fs.isdir(root):
            raise ConfigError(f"no Distiset at '{path}': give the folder that Distiset.save_to_disk wrote")
        shards = _checkpoint_shards(fs, root)
        if shards:
            return _from_shards(cls(), fs, root, shards)
        out = cls()
        for entry in sorted(fs.ls(root, detail=True), key=lambda e: e["name"]):
            name = entry["name"].rstrip("/").rsplit("/", 1)[-1]
            if entry["type"] == "directory" and fs.exists(f"{entry['name']}/dataset_dict.json"):
                out[name] = datasets.load_from_disk(f"{str(path).rstrip('/')}/{name}", storage_options=storage_options)
        if not out:
            raise ConfigError(f"no Distiset at '{path}': it has no saved leaf datasets")
        _decode_saved_values(out, fs, root)
        if fs.exists(f"{root}/{PIPELINE_YAML}"):
            with fs.open(f"{root}/{PIPELINE_YAML}") as fh:
                out.pipeline_yaml = load_yaml(fh)
        return out

    def push_to_hub(self, repo_id: str, private: bool = False, token: str | None = None) -> None:
        """Upload the data as Parquet, ``pipeline.yaml`` and the dataset card to a Hub dataset repo."""
        from huggingface_hub import HfApi

        api = HfApi(token=token)
        api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
        for config, dataset_dict in self.items():
            for split, dataset in dataset_dict.items():
                dataset.push_to_hub(repo_id, config_name=config, split=split, private=private, token=token)
        if self.pipeline_yaml is not None:
            api.upload_file(path_or_fileobj=dump_yaml(self.pipeline_yaml).encode(),
                            path_in_repo=PIPELINE_YAML, repo_id=repo_id, repo_type="dataset")
        api.upload_file(path_or_fileobj=self.dataset_card(for_hub=True).encode(), path_in_repo=CARD,
                        repo_id=repo_id, repo_type="dataset")

    def dataset_card(self, for_hub: bool = False) -> str:
        """The card (README.md); ``for_hub`` adds the ``configs:`` metadata that names every subset."""
        from synthgen.card import render_card

        return render_card(self, for_hub)

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}: {v}" for k, v in self.items())
        return f"Distiset({{{inner}}})"


def _decode_saved_values(distiset: Distiset, fs: Any, root: str) -> None:
    if not fs.exists(f"{root}/{VALUE_ENCODING}"):
        return
    with fs.open(f"{root}/{VALUE_ENCODING}") as fh:
        columns = json.load(fh).get("columns", {})
    for config, dataset_dict in distiset.items():
        for split, dataset in dataset_dict.items():
            dataset_dict[split] = with_values(dataset, list(columns.get(config, {}).get(split, [])))


def _dataset_from_parquet(files: list[Path]) -> datasets.Dataset:
    table = concat_tables([pq.read_table(f) for f in files])
    # The files name the content: a fingerprint from them saves datasets hashing the table (~0.1 s/1M rows).
    stats = [(str(f), f.stat().st_size, f.stat().st_mtime_ns) for f in files]
    fingerprint = hashlib.blake2b(repr(stats).encode(), digest_size=16).hexdigest()
    return _dataset(table, fingerprint)


def create_distiset(data_dir: str | Path, pipeline_path: str | Path | None = None) -> Distiset:
    """Rebuild the Distiset of a run from its ``data/`` folder.

    Args:
        data_dir: the ``data`` folder of a pipeline's cache folder (one sub-folder of Parquet per leaf).
        pipeline_path: its ``pipeline.yaml``; defaults to ``../pipeline.yaml`` when that exists.

    Raises:
        ConfigError: ``data_dir`` does not exist or holds no leaf folders.
    """
    data_dir = Path(data_dir).expanduser()
    leaves = sorted(p for p in data_dir.iterdir() if p.is_dir()) if data_dir.is_dir() else []
    if not leaves:
        raise ConfigError(f"no leaf data in '{data_dir}': give the data/ folder of a pipeline's cache folder")
    distiset = Distiset()
    for leaf in leaves:
        key = "default" if len(leaves) == 1 else leaf.name
        distiset[key] = datasets.DatasetDict({"train": _dataset_from_parquet(sorted(leaf.glob("*.parquet")))})
    path = Path(pipeline_path) if pipeline_path else data_dir.parent / PIPELINE_YAML
    if path.exists():
        distiset.pipeline_yaml = load_yaml(path.read_text())
    return distiset


def mapped_distiset(files: dict[str, list[Path]], pipeline_path: Path | None = None) -> Distiset | None:
    """The Distiset of a run memory-mapped from its leaves' cache objects (Arrow IPC files), as
    ``datasets`` maps its own files: memory stays flat whatever the size of the data.

    Args:
        files: per leaf step, the object files of its released batches, in order (empty ones left out).
        pipeline_path: the run's ``pipeline.yaml``.

    Returns:
        The Distiset, or ``None`` when a leaf's batches do not share one schema (a column typed
        differently from batch to batch): :func:`create_distiset` reads those from the Parquet files.
    """
    distiset = Distiset()
    for leaf, paths in files.items():
        tables = [MemoryMappedTable.from_file(str(path)) for path in paths]
        if not tables or len({t.schema for t in tables}) != 1:
            return None
        fingerprint = hashlib.blake2b(repr([p.name for p in paths]).encode(), digest_size=16).hexdigest()
        key = "default" if len(files) == 1 else leaf
        distiset[key] = datasets.DatasetDict({"train": _dataset(concat_mapped(tables), fingerprint)})
    if pipeline_path is not None and pipeline_path.exists():
        distiset.pipeline_yaml = load_yaml(pipeline_path.read_text())
    return distiset


def _checkpoint_shards(fs: Any, root: str) -> list[dict[str, Any]]:
    """The shards a checkpoint folder's manifest lists (none for a folder ``save_to_disk`` wrote)."""
    if not fs.exists(f"{root}/manifest.json"):
        return []
    with fs.open(f"{root}/manifest.json") as fh:
        return list(json.load(fh).get("shards", []))


def _from_shards(out: Distiset, fs: Any, root: str, shards: list[dict[str, Any]]) -> Distiset:
    """A checkpoint folder (:class:`synthgen.runner.checkpoint.CheckpointExport`) as one Distiset."""
    for shard in shards:
        if shard["path"].startswith("/") or ".." in shard["path"].split("/"):
            raise ConfigError(f"checkpoint manifest in '{root}' lists shard '{shard['path']}' outside its folder")
    for config in dict.fromkeys(s["config"] for s in shards):
        check_name("Distiset config", config)
        tables = [_read_shard(fs, root, s) for s in shards if s["config"] == config]
        out[config] = datasets.DatasetDict({"train": _dataset(concat_tables(tables))})
    if fs.exists(f"{root}/{PIPELINE_YAML}"):
        with fs.open(f"{root}/{PIPELINE_YAML}") as fh:
            out.pipeline_yaml = load_yaml(fh)
    return out


def _read_shard(fs: Any, root: str, shard: dict[str, Any]) -> pa.Table:
    """A checkpoint shard, checked against the SHA-256 its export recorded.

    Raises:
        ConfigError: the shard is missing, or holds other bytes (damaged, cut short or replaced).
    """
    fix = ("run the pipeline again with the same checkpoint_path: it exports those rows again from the "
           "cache, without computing them")
    try:
        data = fs.cat_file(f"{root}/{shard['path']}")
    except FileNotFoundError:
        raise ConfigError(f"checkpoint '{root}' lists shard '{shard['path']}', which is not there: {fix}") from None
    if shard.get("sha256") and hashlib.sha256(data).hexdigest() != shard["sha256"]:
        raise ConfigError(f"shard '{shard['path']}' of checkpoint '{root}' does not hold the bytes its export "
                          f"wrote (damaged, cut short or replaced): delete that file, then {fix}")
    return pq.read_table(pa.BufferReader(data))


def manifest(path: str) -> dict[str, Any]:
    with fsspec.open(f"{path.rstrip('/')}/manifest.json") as fh:
        return json.load(fh)
