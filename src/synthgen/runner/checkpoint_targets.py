"""Where a checkpoint's files go: a folder (a local path or any fsspec URL), or a Hugging Face Hub
repository, where one export is one commit.

Writing a Hub repository file by file through ``HfFileSystem`` would make each file a commit of its own:
three or more per export, and a reader could see a manifest without its shards. The Hub limits how often
a repository takes commits, so a run that exports every minute would be refused within the hour.
:class:`HubRepo` sends an export's shards, card and manifest as one commit (``HfApi.create_commit``):
readers see all of an export or none of it.
"""

from __future__ import annotations

from typing import Any

import fsspec

from synthgen.errors import ConfigError


class Folder:
    """A folder: each file is written at once; the files an export removes go after its manifest, which
    no longer lists them (a reader never finds the manifest naming a file already gone)."""

    def __init__(self, url: str, storage_options: dict[str, Any]) -> None:
        self.fs, self.root = fsspec.core.url_to_fs(url, **storage_options)
        self._written: set[str] = set()

    def read_text(self, name: str) -> str | None:
        """The file ``name`` (relative to the folder), or None when there is none."""
        try:
            with self.fs.open(f"{self.root}/{name}", "rb") as fh:
                return bytes(fh.read()).decode()
        except FileNotFoundError:
            return None

    def exists(self, name: str) -> bool:
        return bool(self.fs.exists(f"{self.root}/{name}"))

    def sizes(self) -> dict[str, int]:
        """The size of every file in the folder, by name relative to it."""
        try:
            found = self.fs.find(self.root, detail=True)
        except FileNotFoundError:
            return {}
        prefix = f"{self.root.rstrip('/')}/"
        return {path[len(prefix):]: int(info.get("size") or 0) for path, info in found.items() if path.startswith(prefix)}

    def put(self, name: str, data: bytes) -> None:
        self.fs.makedirs(f"{self.root}/{name}".rsplit("/", 1)[0], exist_ok=True)
        with self.fs.open(f"{self.root}/{name}", "wb") as fh:
            fh.write(data)
        self._written.add(name)

    def commit(self, message: str, remove: list[str]) -> None:  # noqa: ARG002 - a folder keeps no history
        written, self._written = self._written, set()
        for name in remove:
            if name not in written and self.exists(name):  # a new shard may have taken the name
                self.fs.rm(f"{self.root}/{name}")

    def discard(self) -> None:
        self._written = set()


class HubRepo:
    """A Hub repository (``hf://datasets/<owner>/<name>[@<branch>][/<folder>]``): what an export writes
    and removes is sent as one commit. A repository that does not exist yet is created private (a
    checkpoint is never published by accident), and so is a branch named in the URL. Reads go through
    ``HfFileSystem``.

    Args:
        url: the ``hf://`` URL.
        storage_options: ``token`` and ``endpoint``, for the commits as for the reads.
    """

    def __init__(self, url: str, storage_options: dict[str, Any]) -> None:
        import huggingface_hub

        uri = _parse(url)
        self.repo_id, self.repo_type, self.revision = uri.id, uri.type, uri.revision
        self.prefix = uri.path_in_repo.strip("/")
        self.reads = Folder(url, storage_options)
        self.api = huggingface_hub.HfApi(token=storage_options.get("token"), endpoint=storage_options.get("endpoint"))
        self._added: dict[str, bytes] = {}
        self._committed: dict[str, bool] = {}  # what this run's commits added (True) or deleted (False)
        self._repo_ready = False

    def read_text(self, name: str) -> str | None:
        return self.reads.read_text(name)

    def sizes(self) -> dict[str, int]:
        self.reads.fs.invalidate_cache()
        return self.reads.sizes()

    def put(self, name: str, data: bytes) -> None:
        self._added[name] = data

    def commit(self, message: str, remove: list[str]) -> None:
        from huggingface_hub import CommitOperationAdd, CommitOperationDelete

        added, self._added = self._added, {}
        operations: list[Any] = [CommitOperationAdd(path_in_repo=self._path(n), path_or_fileobj=d) for n, d in added.items()]
        # The Hub refuses a whole commit that deletes a missing file: only what is there is deleted.
        deleted = [n for n in remove if n not in added and self._committed.get(n, self._exists(n))]
        operations += [CommitOperationDelete(path_in_repo=self._path(n)) for n in deleted]
        if not self._repo_ready:
            self._prepare_repo()
            self._repo_ready = True
        self.api.create_commit(self.repo_id, operations, commit_message=message, repo_type=self.repo_type,
                               revision=self.revision)
        self._committed |= {n: True for n in added} | {n: False for n in deleted}

    def discard(self) -> None:
        self._added = {}

    def _prepare_repo(self) -> None:
        """Create the repository (private) and the branch named in the URL, where they do not exist yet."""
        self.api.create_repo(self.repo_id, repo_type=self.repo_type, private=True, exist_ok=True)
        if self.revision and not self.revision.startswith("refs/"):  # a pull request's ref is not a branch to create
            self.api.create_branch(self.repo_id, branch=self.revision, repo_type=self.repo_type, exist_ok=True)

    def _exists(self, name: str) -> bool:
        """Whether the repository has ``name``, asked afresh (``HfFileSystem`` caches its listings)."""
        self.reads.fs.invalidate_cache()
        return self.reads.exists(name)

    def _path(self, name: str) -> str:
        return f"{self.prefix}/{name}" if self.prefix else name


def open_target(url: str, storage_options: dict[str, Any]) -> Folder | HubRepo:
    """The checkpoint target of ``url``: a Hub repository for ``hf://`` URLs naming one, else a folder."""
    if fsspec.utils.get_protocol(url) == "hf" and not _parse(url).is_bucket:
        return HubRepo(url, storage_options)
    return Folder(url, storage_options)


def _parse(url: str) -> Any:
    try:
        from huggingface_hub import parse_hf_uri
    except ImportError as exc:
        raise ConfigError(f"checkpoints to '{url}' need a newer huggingface_hub: pip install -U huggingface_hub") from exc
    try:
        return parse_hf_uri(url)
    except ValueError as exc:
        raise ConfigError(f"checkpoint_path '{url}' is not a Hub location ({exc}): write "
                          "hf://datasets/<owner>/<name>, optionally followed by @<branch> and /<folder>") from exc
