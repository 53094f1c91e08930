"""Checkpoints at the edges: a target that fails for a while, one that is down when the run ends, one that
cannot be read, a hostile manifest, and Hugging Face Hub repositories (one commit per export).

The Hub cannot be reached from the tests: a local folder stands in for the repository, read through an
fsspec filesystem registered for ``hf://`` (as ``HfFileSystem`` is) and written by a stand-in for
``HfApi`` that applies each commit's operations to it, refusing a deletion of a missing file as the Hub
does.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import fsspec
import pytest
from fsspec.implementations.dirfs import DirFileSystem
from fsspec.implementations.local import LocalFileSystem
from fsspec.implementations.memory import MemoryFileSystem
from loguru import logger

from synthgen import CheckpointStrategy, Distiset, Pipeline
from synthgen.errors import CheckpointError
from synthgen.testing.steps import AddColumn, GenerateNumbers, batches_run


def numbers(cache: Path, count: int = 60, count_dir: Path | None = None, delay: float = 0.0) -> Pipeline:
    with Pipeline(name="numbers", cache_dir=cache) as p:
        GenerateNumbers(count=count, batch_size=10, delay=0.02) >> AddColumn(
            name="double", factor=2, input_batch_size=10, delay=delay, count_dir=str(count_dir) if count_dir else None)
    return p


@pytest.fixture
def warnings() -> Iterator[list[str]]:
    seen: list[str] = []
    handler = logger.add(lambda message: seen.append(str(message)), level="WARNING", format="{message}")
    yield seen
    logger.remove(handler)


class Flaky(MemoryFileSystem):
    """A bucket that refuses writes while ``down`` (or the ``fail_writes`` next ones) and reads when
    ``unreadable``."""

    protocol = "flaky"
    down = False
    fail_writes = 0
    unreadable = False

    def _open(self, path: str, mode: str = "rb", **kwargs: Any) -> Any:
        if "w" in mode and (Flaky.down or Flaky.fail_writes > 0):
            Flaky.fail_writes -= 1
            raise ConnectionError("503 Service Unavailable")
        if "r" in mode and Flaky.unreadable:
            raise PermissionError("403 Forbidden")
        return super()._open(path, mode, **kwargs)


@pytest.fixture
def flaky(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[str]:
    monkeypatch.setitem(sys.modules["fsspec.registry"]._registry, "flaky", Flaky)
    Flaky.down, Flaky.fail_writes, Flaky.unreadable = False, 0, False
    yield f"flaky://ckpt-{tmp_path.name}"
    Flaky.down, Flaky.fail_writes, Flaky.unreadable = False, 0, False
    if Flaky().exists(f"flaky://ckpt-{tmp_path.name}"):
        Flaky().rm(f"flaky://ckpt-{tmp_path.name}", recursive=True)


def test_a_checkpoint_write_that_fails_mid_run_does_not_stop_it_and_the_next_export_catches_up(
        tmp_path: Path, flaky: str, warnings: list[str]) -> None:
    Flaky.fail_writes = 1  # the first export's first shard
    distiset = numbers(tmp_path / "c").run(checkpoint_strategy=CheckpointStrategy(every_n_rows=20),
                                           checkpoint_path=flaky)
    assert distiset["default"]["train"]["out"] == [2 * n for n in range(60)]
    assert any("cannot write the checkpoint" in w and "503" in w and "The run goes on" in w for w in warnings)
    manifest = json.loads(fsspec.filesystem("flaky").cat(f"{flaky}/manifest.json"))
    assert manifest["rows"] == 60 and sum(s["rows"] for s in manifest["shards"]) == 60  # each row once
    assert Distiset.load_from_disk(flaky)["default"]["train"]["n"] == list(range(60))


def test_a_checkpoint_target_down_at_the_end_raises_with_the_dataset_and_a_rerun_exports_it(
        tmp_path: Path, flaky: str) -> None:
    Flaky.down = True
    counts = tmp_path / "counts"
    counts.mkdir()
    with pytest.raises(CheckpointError, match="the run finished .* cannot write the checkpoint .* 503") as caught:
        numbers(tmp_path / "c", count_dir=counts).run(checkpoint_strategy=CheckpointStrategy(every_n_rows=20),
                                                       checkpoint_path=flaky)
    assert caught.value.distiset["default"]["train"]["out"] == [2 * n for n in range(60)]  # type: ignore[index]
    assert batches_run(counts, "double") == 6
    Flaky.down = False
    numbers(tmp_path / "c", count_dir=counts).run(checkpoint_path=flaky)
    assert batches_run(counts, "double") == 6, "the rerun computed again instead of exporting from the cache"
    assert Distiset.load_from_disk(flaky)["default"]["train"]["out"] == [2 * n for n in range(60)]


def test_a_checkpoint_that_cannot_be_read_stops_the_run_before_any_step(tmp_path: Path, flaky: str) -> None:
    Flaky.unreadable = True
    counts = tmp_path / "counts"
    counts.mkdir()
    with pytest.raises(CheckpointError, match="cannot read the checkpoint at 'flaky://.*403 Forbidden.* credentials"):
        numbers(tmp_path / "c", count_dir=counts).run(checkpoint_path=flaky)
    assert batches_run(counts, "double") == 0


def test_a_finished_run_rerun_with_a_complete_checkpoint_writes_nothing(tmp_path: Path, flaky: str) -> None:
    numbers(tmp_path / "c").run(checkpoint_path=flaky)
    Flaky.down = True  # any write would now fail the rerun
    assert len(numbers(tmp_path / "c").run(checkpoint_path=flaky)["default"]["train"]) == 60


def test_a_manifest_found_in_the_folder_cannot_make_an_export_remove_files_outside_it(tmp_path: Path) -> None:
    folder, victim = tmp_path / "ckpt", tmp_path / "victim.txt"
    victim.write_text("keep me")
    (folder / "data").mkdir(parents=True)
    (folder / "data" / "train-00001.parquet").write_bytes(b"another pipeline's shard")
    hostile = [{"config": "default", "path": p, "rows": 1, "objects": []}
               for p in ("../victim.txt", str(victim), "data/train-00001.parquet")]
    (folder / "manifest.json").write_text(json.dumps({"signature": "another", "shards": hostile}))
    numbers(tmp_path / "c").run(checkpoint_path=str(folder))
    assert victim.read_text() == "keep me"
    assert Distiset.load_from_disk(folder)["default"]["train"]["n"] == list(range(60))


class LocalHub:
    """Stands in for ``huggingface_hub.HfApi``: commits apply to :attr:`root` (``datasets/<id>/...``)."""

    root: ClassVar[Path]
    commits: ClassVar[list[dict[str, Any]]]
    repos: ClassVar[list[dict[str, Any]]]
    fail_commits: ClassVar[int] = 0

    def __init__(self, token: str | None = None, endpoint: str | None = None) -> None:
        self.token = token

    def create_repo(self, repo_id: str, *, repo_type: str | None = None, private: bool | None = None,
                    exist_ok: bool = False) -> None:
        self.repos.append({"repo_id": repo_id, "repo_type": repo_type, "private": private, "exist_ok": exist_ok})

    def create_branch(self, repo_id: str, *, branch: str, repo_type: str | None = None, exist_ok: bool = False) -> None:
        self.repos.append({"repo_id": repo_id, "branch": branch, "repo_type": repo_type, "exist_ok": exist_ok})

    def create_commit(self, repo_id: str, operations: list[Any], *, commit_message: str,
                      repo_type: str | None = None, revision: str | None = None) -> None:
        from huggingface_hub import CommitOperationAdd
        from huggingface_hub.errors import EntryNotFoundError

        if LocalHub.fail_commits > 0:
            LocalHub.fail_commits -= 1
            raise ConnectionError("the Hub answered 503")
        repo = self.root / ("datasets" if repo_type == "dataset" else "models") / repo_id
        for op in operations:
            if not isinstance(op, CommitOperationAdd) and not (repo / op.path_in_repo).exists():
                raise EntryNotFoundError(f"{op.path_in_repo} does not exist: the whole commit is refused")
        for op in operations:
            target = repo / op.path_in_repo
            if isinstance(op, CommitOperationAdd):
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(op.path_or_fileobj)
            else:
                target.unlink()
        self.commits.append({"repo_id": repo_id, "message": commit_message, "revision": revision,
                             "token": self.token, "paths": sorted(op.path_in_repo for op in operations),
                             "deleted": sorted(op.path_in_repo for op in operations
                                               if not isinstance(op, CommitOperationAdd))})


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> type[LocalHub]:
    import huggingface_hub

    root = tmp_path / "hub"
    (root / "datasets").mkdir(parents=True)

    class HubFiles(DirFileSystem):  # what HfFileSystem reads, from the stand-in's folder
        protocol = "hf"

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(path=str(root), fs=LocalFileSystem())

    monkeypatch.setitem(sys.modules["fsspec.registry"]._registry, "hf", HubFiles)
    monkeypatch.setattr(LocalHub, "root", root, raising=False)
    monkeypatch.setattr(LocalHub, "commits", [], raising=False)
    monkeypatch.setattr(LocalHub, "repos", [], raising=False)
    monkeypatch.setattr(LocalHub, "fail_commits", 0)
    monkeypatch.setattr(huggingface_hub, "HfApi", LocalHub)
    return LocalHub


def test_a_hub_checkpoint_is_one_commit_per_export_and_loads_as_one_dataset(
        tmp_path: Path, hub: type[LocalHub]) -> None:
    import datasets

    url = "hf://datasets/me/ckpt"
    strategy = CheckpointStrategy(every_n_rows=20, extra_params={"storage_options": {"token": "hf_secret"}})
    numbers(tmp_path / "c").run(checkpoint_strategy=strategy, checkpoint_path=url)
    manifest = json.loads((hub.root / "datasets/me/ckpt/manifest.json").read_text())
    assert len(hub.commits) == manifest["exports"] >= 2
    for commit in hub.commits:  # the shards, card and manifest of an export land together
        assert {"manifest.json", "README.md"} <= set(commit["paths"]) and commit["token"] == "hf_secret"
        assert any(p.startswith("data/train-") for p in commit["paths"]) and commit["revision"] is None
    assert hub.repos == [{"repo_id": "me/ckpt", "repo_type": "dataset", "private": True, "exist_ok": True}]
    assert Distiset.load_from_disk(url)["default"]["train"]["out"] == [2 * n for n in range(60)]
    local = datasets.load_dataset(str(hub.root / "datasets/me/ckpt"), split="train")
    assert sorted(local["n"]) == list(range(60))


def test_a_hub_checkpoint_in_a_folder_of_a_branch_and_a_commit_that_fails(
        tmp_path: Path, hub: type[LocalHub], warnings: list[str]) -> None:
    hub.fail_commits = 1
    numbers(tmp_path / "c").run(checkpoint_strategy=CheckpointStrategy(every_n_rows=20),
                                checkpoint_path="hf://datasets/me/ckpt@dev/run-1")
    assert any("cannot write the checkpoint" in w and "503" in w for w in warnings)
    assert all(c["revision"] == "dev" and all(p.startswith("run-1/") for p in c["paths"]) for c in hub.commits)
    assert {"repo_id": "me/ckpt", "branch": "dev", "repo_type": "dataset", "exist_ok": True} in hub.repos
    # The failed commit's shard went with the next one: every row once.
    manifest = json.loads((hub.root / "datasets/me/ckpt/run-1/manifest.json").read_text())
    assert manifest["rows"] == 60 and sum(s["rows"] for s in manifest["shards"]) == 60


def test_another_pipeline_checkpointed_to_the_same_repository_replaces_its_shards_in_one_commit(
        tmp_path: Path, hub: type[LocalHub]) -> None:
    import datasets

    url, repo = "hf://datasets/me/ckpt", hub.root / "datasets/me/ckpt"
    numbers(tmp_path / "c", count=40, delay=0.05).run(checkpoint_strategy=CheckpointStrategy(every_n_rows=10),
                                                      checkpoint_path=url)
    first = [s["path"] for s in json.loads((repo / "manifest.json").read_text())["shards"]]
    assert len(first) >= 3, "the first run should have exported several shards"
    (repo / first[1]).unlink()  # someone removed a shard by hand
    hub.commits.clear()
    numbers(tmp_path / "c", count=30).run(checkpoint_path=url)  # another pipeline, exported once
    [commit] = hub.commits
    # The earlier shards go in the same commit as the new one, except the one already gone (the Hub would
    # refuse the whole commit).
    assert commit["deleted"] == sorted([first[0], *first[2:]])
    assert Distiset.load_from_disk(url)["default"]["train"]["n"] == list(range(30))
    local = datasets.load_dataset(str(repo), split="train", cache_dir=str(tmp_path / "datasets-cache"))
    assert sorted(local["n"]) == list(range(30))  # no stale shard


def test_datasets_loads_what_a_checkpoint_folder_holds_now_not_what_it_cached_before(tmp_path: Path) -> None:
    # `datasets` caches a local folder by the data files its card names: with a `train-*` pattern, a folder
    # that changed (or another folder of the same name) silently loaded the rows it cached the first time.
    import datasets

    folder, cache = tmp_path / "ckpt", str(tmp_path / "datasets-cache")
    numbers(tmp_path / "c", count=30).run(checkpoint_path=str(folder))
    assert len(datasets.load_dataset(str(folder), split="train", cache_dir=cache)) == 30
    numbers(tmp_path / "c", count=40).run(checkpoint_path=str(folder))  # another pipeline, same folder
    assert sorted(datasets.load_dataset(str(folder), split="train", cache_dir=cache)["n"]) == list(range(40))
    other = tmp_path / "elsewhere" / "ckpt"  # the same name in another place
    numbers(tmp_path / "c", count=20).run(checkpoint_path=str(other))
    assert sorted(datasets.load_dataset(str(other), split="train", cache_dir=cache)["n"]) == list(range(20))


def test_a_bad_hub_url_is_a_clear_error(tmp_path: Path, hub: type[LocalHub]) -> None:
    from synthgen.errors import ConfigError

    with pytest.raises(ConfigError, match="not a Hub location .* hf://datasets/<owner>/<name>"):
        numbers(tmp_path / "c").run(checkpoint_path="hf://datasets/only-a-name")


def test_a_shard_removed_from_a_checkpoint_is_a_clear_error_and_a_rerun_exports_it_again(tmp_path: Path) -> None:
    from synthgen.errors import ConfigError

    folder, counts = tmp_path / "ckpt", tmp_path / "counts"
    counts.mkdir()
    numbers(tmp_path / "c", count_dir=counts, delay=0.05).run(
        checkpoint_strategy=CheckpointStrategy(every_n_rows=10), checkpoint_path=str(folder))
    shards = [s["path"] for s in json.loads((folder / "manifest.json").read_text())["shards"]]
    assert len(shards) >= 2
    (folder / shards[1]).unlink()
    with pytest.raises(ConfigError, match=f"lists shard '{shards[1]}', which is not there: run the pipeline again"):
        Distiset.load_from_disk(folder)
    numbers(tmp_path / "c", count_dir=counts).run(checkpoint_path=str(folder))
    assert batches_run(counts, "double") == 6, "the rerun computed again instead of exporting from the cache"
    assert Distiset.load_from_disk(folder)["default"]["train"]["n"] == list(range(60))
    assert (folder / shards[0]).exists()  # the shards before the missing one were kept


def test_a_damaged_shard_is_found_when_the_checkpoint_is_loaded(tmp_path: Path) -> None:
    from synthgen.errors import ConfigError

    folder = tmp_path / "ckpt"
    numbers(tmp_path / "c").run(checkpoint_path=str(folder))
    [shard] = json.loads((folder / "manifest.json").read_text())["shards"]
    data = bytearray((folder / shard["path"]).read_bytes())
    data[len(data) // 2] ^= 0xFF  # same size: only the hash can tell
    (folder / shard["path"]).write_bytes(bytes(data))
    with pytest.raises(ConfigError, match="does not hold the bytes its export wrote .* delete that file, then run"):
        Distiset.load_from_disk(folder)
    (folder / shard["path"]).unlink()  # as the message says
    numbers(tmp_path / "c").run(checkpoint_path=str(folder))
    assert Distiset.load_from_disk(folder)["default"]["train"]["n"] == list(range(60))


@pytest.mark.parametrize("kwargs", [{"every_n_rows": 0}, {"every_n_rows": -5}, {"every_seconds": 0},
                                    {"every_n_rows": 2.5}, {"every_n_rows": True}, {"every_seconds": "60"}])
def test_a_strategy_that_would_never_or_always_export_is_refused(kwargs: dict[str, Any]) -> None:
    from synthgen.errors import ConfigError

    with pytest.raises(ConfigError, match="CheckpointStrategy\\(every_"):
        CheckpointStrategy(**kwargs)
