"""Distiset: save/load, create_distiset from a cache folder, checkpoints, push_to_hub (mocked)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from synthgen import CheckpointStrategy, Distiset, Pipeline, create_distiset
from synthgen.errors import ConfigError
from synthgen.testing.steps import AddColumn, GenerateNumbers


def two_leaves(cache: Path) -> Pipeline:
    with Pipeline(name="two", cache_dir=cache, description="two leaves") as p:
        gen = GenerateNumbers(count=50, batch_size=10)
        gen >> [AddColumn(name="double", factor=2), AddColumn(name="triple", factor=3)]
    return p


def test_one_dataset_dict_per_leaf_with_train_split(tmp_path: Path) -> None:
    d = two_leaves(tmp_path).run()
    assert sorted(d) == ["double", "triple"]
    assert d["triple"]["train"]["out"] == [3 * i for i in range(50)]


def test_save_and_load_round_trip_with_pipeline_yaml_and_card(tmp_path: Path) -> None:
    d = two_leaves(tmp_path / "c").run()
    d.save_to_disk(tmp_path / "saved")
    loaded = Distiset.load_from_disk(tmp_path / "saved")
    assert loaded["double"]["train"].to_list() == d["double"]["train"].to_list()
    assert loaded.pipeline_yaml["pipeline"]["name"] == "two"  # type: ignore[index]
    card = (tmp_path / "saved" / "README.md").read_text()
    assert "# two" in card and "| double | add_column |" in card


def test_create_distiset_rebuilds_from_data_dir(tmp_path: Path) -> None:
    p = two_leaves(tmp_path)
    d = p.run()
    rebuilt = create_distiset(tmp_path / "two" / p.folder_key / "data")
    assert rebuilt["double"]["train"].to_list() == d["double"]["train"].to_list()
    assert rebuilt.pipeline_yaml is not None


@pytest.mark.parametrize("path", ["missing", "."])
def test_bad_paths_are_clear_errors(tmp_path: Path, path: str) -> None:
    with pytest.raises(ConfigError, match="no "):
        create_distiset(tmp_path / path / "data")
    with pytest.raises(ConfigError, match="no Distiset at"):
        Distiset.load_from_disk(tmp_path / path)


class Watching(CheckpointStrategy):
    """Loads the checkpoint folder after each export (while the run goes on) and notes what it held."""

    seen: list[tuple[int, int, list[int]]]

    def maybe_export(self, rows: int, export: Any) -> None:
        def export_and_load() -> None:
            export()
            manifest = json.loads((self.folder / "manifest.json").read_text())
            ds = Distiset.load_from_disk(self.folder)["default"]["train"]
            self.seen.append((manifest["rows"], len(ds), ds["n"]))

        super().maybe_export(rows, export_and_load)


def test_checkpoints_append_shards_and_load_as_one_dataset_after_every_export(tmp_path: Path) -> None:
    with Pipeline(name="ckpt", cache_dir=tmp_path / "c") as p:
        GenerateNumbers(count=200, batch_size=10, delay=0.02) >> AddColumn(input_batch_size=10, delay=0.05)
    strategy = Watching(every_n_rows=50)
    strategy.folder, strategy.seen = tmp_path / "ckpt", []  # type: ignore[attr-defined]
    p.run(checkpoint_strategy=strategy, checkpoint_path=str(tmp_path / "ckpt"))
    assert len(strategy.seen) >= 2  # exports during the run
    for rows, loaded, numbers in strategy.seen:
        assert loaded == rows and numbers == list(range(rows))
    manifest = json.loads((tmp_path / "ckpt" / "manifest.json").read_text())
    assert manifest["signature"] == p.aggregated_steps_signature and manifest["rows"] == 200
    # Plus the final export, unless the last one during the run already held every row (an export with
    # nothing new writes nothing).
    assert manifest["exports"] == len(strategy.seen) + (strategy.seen[-1][0] < 200)
    # Each export wrote only its new rows: the shards add up to the final rows, each row once.
    # (an export with no new rows adds no shard)
    assert sum(s["rows"] for s in manifest["shards"]) == 200 and len(manifest["shards"]) <= manifest["exports"]
    assert all(s["rows"] > 0 for s in manifest["shards"])
    loaded = Distiset.load_from_disk(tmp_path / "ckpt")
    assert loaded["default"]["train"]["n"] == list(range(200))
    assert loaded.pipeline_yaml["aggregated_steps_signature"] == p.aggregated_steps_signature


def test_a_checkpoint_folder_loads_with_datasets(tmp_path: Path) -> None:
    import datasets

    two_leaves(tmp_path / "c").run(checkpoint_strategy=CheckpointStrategy(every_n_rows=20),
                                   checkpoint_path=str(tmp_path / "ckpt"))
    for leaf, factor in (("double", 2), ("triple", 3)):
        ds = datasets.load_dataset(str(tmp_path / "ckpt"), leaf, split="train")
        assert sorted(ds["out"]) == [n * factor for n in range(50)]
    loaded = Distiset.load_from_disk(tmp_path / "ckpt")
    assert sorted(loaded) == ["double", "triple"] and len(loaded["triple"]["train"]) == 50


def test_a_rerun_to_the_same_checkpoint_folder_keeps_its_shards(tmp_path: Path) -> None:
    p = two_leaves(tmp_path / "c")
    p.run(checkpoint_path=str(tmp_path / "ckpt"))
    first = json.loads((tmp_path / "ckpt" / "manifest.json").read_text())["shards"]
    p.run(use_cache=False, checkpoint_path=str(tmp_path / "ckpt"))
    again = json.loads((tmp_path / "ckpt" / "manifest.json").read_text())
    assert again["shards"] == first and again["rows"] == 100  # the same objects: nothing rewritten


def test_custom_strategy_decides_when_to_export(tmp_path: Path) -> None:
    class Never(CheckpointStrategy):
        def should_export(self, rows: int, seconds_since_last: float) -> bool:
            return False

    with Pipeline(name="never", cache_dir=tmp_path / "c") as p:
        GenerateNumbers(count=50, batch_size=10) >> AddColumn()
    p.run(checkpoint_strategy=Never(), checkpoint_path=str(tmp_path / "ckpt"))
    manifest = json.loads((tmp_path / "ckpt" / "manifest.json").read_text())
    assert manifest["exports"] == 1 and manifest["rows"] == 50  # only the final export


def test_push_to_hub_uploads_data_yaml_and_card(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import datasets
    import huggingface_hub

    calls: list[tuple[str, Any]] = []

    class FakeApi:
        def __init__(self, token: str | None = None) -> None:
            calls.append(("token", token))

        def create_repo(self, repo_id: str, **kw: Any) -> None:
            calls.append(("create_repo", (repo_id, kw["private"])))

        def upload_file(self, path_or_fileobj: bytes, path_in_repo: str, **kw: Any) -> None:
            calls.append(("upload", (path_in_repo, path_or_fileobj.decode())))

    def fake_push(self: datasets.Dataset, repo_id: str, config_name: str, split: str, **kw: Any) -> None:
        calls.append(("data", (repo_id, config_name, split, len(self))))

    monkeypatch.setattr(huggingface_hub, "HfApi", FakeApi)
    monkeypatch.setattr(datasets.Dataset, "push_to_hub", fake_push)
    d = two_leaves(tmp_path).run()
    d.push_to_hub("me/data", private=True, token="hf_secret")
    assert ("create_repo", ("me/data", True)) in calls
    assert ("data", ("me/data", "double", "train", 50)) in calls
    uploads = dict(c[1] for c in calls if c[0] == "upload")
    assert "pipeline.yaml" in uploads and "README.md" in uploads
    assert "hf_secret" not in uploads["README.md"] + uploads["pipeline.yaml"]
    # The card replaces the README that Dataset.push_to_hub wrote: it must name every subset itself.
    front = yaml.safe_load(uploads["README.md"].split("---")[1])
    assert {c["config_name"]: c["data_files"] for c in front["configs"]} == {
        leaf: [{"split": "train", "path": f"{leaf}/train-*"}] for leaf in d}


def test_the_card_lists_only_columns_the_data_has(tmp_path: Path) -> None:
    from synthgen.card import render_card
    from synthgen.steps import KeepColumns

    with Pipeline(name="dropped", cache_dir=tmp_path) as p:
        GenerateNumbers(name="gen", count=4, batch_size=4) >> AddColumn(name="double", factor=2, output="out") \
            >> KeepColumns(name="keep", columns=["n"])
    card = render_card(p.run())
    assert "| gen | generate_numbers |" in card and "| n |" in card
    assert "| double | add_column |  | " in card and "out" not in card, "the card names a column the data lacks"


def test_checkpoints_go_to_any_fsspec_folder(tmp_path: Path) -> None:
    # memory:// stands in for a bucket or a Hub repository mounted through fsspec (no network).
    import fsspec

    url = f"memory://ckpt-{tmp_path.name}"
    two_leaves(tmp_path / "c").run(checkpoint_strategy=CheckpointStrategy(every_n_rows=30), checkpoint_path=url)
    loaded = Distiset.load_from_disk(url)
    assert sorted(loaded["double"]["train"]["out"]) == [n * 2 for n in range(50)]
    fsspec.filesystem("memory").rm(url.removeprefix("memory://"), recursive=True)


def test_the_distiset_of_a_run_is_memory_mapped_from_its_leaf_arrow_files(tmp_path: Path) -> None:
    """Column objects have zstd buffers, which cannot be mapped (docs/caching.md): the leaves' rows are
    also written as uncompressed Arrow, which the run returns mapped, as datasets maps its own files, the
    same on the run and on the finished rerun; data/ keeps the Parquet files."""
    with Pipeline(name="mapped", cache_dir=tmp_path) as p:
        GenerateNumbers(count=50, batch_size=10) >> AddColumn(name="double", factor=2, input_batch_size=10)
    for distiset in (p.run(), p.run()):  # the run, then the finished run loaded from the cache
        ds = distiset["default"]["train"]
        assert type(ds.data).__name__ == "MemoryMappedTable"
        assert {Path(f["filename"]).parent.name for f in ds.cache_files} == {"double"}
        assert all(Path(f["filename"]).parent.parent.name == "arrow" for f in ds.cache_files)
        assert sorted(ds["out"]) == [n * 2 for n in range(50)]
    assert create_distiset(next(tmp_path.glob("mapped/*/data")))["default"]["train"]["out"] == ds["out"]


def test_a_damaged_arrow_file_is_not_mapped_the_rows_come_from_the_parquet_files(tmp_path: Path) -> None:
    with Pipeline(name="damaged", cache_dir=tmp_path) as p:
        GenerateNumbers(count=50, batch_size=10) >> AddColumn(name="double", factor=2, input_batch_size=10)
    p.run()
    [arrow] = tmp_path.glob("damaged/*/arrow/double/00001.arrow")
    data = bytearray(arrow.read_bytes())
    data[-20] ^= 0xFF  # one flipped byte: the hash recorded when it was written no longer matches
    arrow.write_bytes(bytes(data))
    ds = p.run()["default"]["train"]
    assert not any(Path(f["filename"]) == arrow for f in ds.cache_files)
    assert sorted(ds["out"]) == [n * 2 for n in range(50)]


def test_several_leaves_are_mapped_as_named_subsets(tmp_path: Path) -> None:
    distiset = two_leaves(tmp_path / "c").run()
    assert list(distiset) == sorted(distiset)
    for dataset_dict in distiset.values():
        assert type(dataset_dict["train"].data).__name__ == "MemoryMappedTable"
    assert sorted(distiset["double"]["train"]["out"]) == [n * 2 for n in range(50)]
