"""``LoadDataFromDisk``: rows of a dataset saved with ``save_to_disk`` (or of a saved Distiset)."""

from __future__ import annotations

from typing import Any

from pydantic import Field, PrivateAttr, field_validator

from synthgen.errors import ConfigError
from synthgen.steps.base import GeneratorStep, GeneratorStepOutput
from synthgen.steps.loaders._batching import batches_with_last, dataset_rows
from synthgen.steps.loaders.files import as_str, file_state, public_options

_DATASET_MARK = "state.json"
_DATASET_DICT_MARK = "dataset_dict.json"
_EXPECTED = "a folder written by Dataset.save_to_disk, DatasetDict.save_to_disk or Distiset.save_to_disk"


class LoadDataFromDisk(GeneratorStep):
    """Emit the rows of a dataset saved to disk: a ``Dataset``, a ``DatasetDict`` or a Distiset.

    A saved Distiset is a folder per leaf step, each holding a ``DatasetDict``.

    Args:
        dataset_path: the saved folder (local path or fsspec URL).
        config: for a Distiset, the leaf step to read; defaults to ``default`` or the only one.
        split: the split to read; defaults to ``train`` or the only split (unused for a ``Dataset``).
        is_distiset: ``True`` to require a Distiset folder; ``None`` detects the layout.
        storage_options: passed to fsspec for remote paths.
        batch_size: rows per batch (runtime parameter).

    Output columns:
        the dataset's columns: the planner opens the dataset (memory-mapped) to check them before
        anything runs.

    Raises:
        ConfigError: on load, when the folder is missing or not a saved dataset, or the config or
            split does not exist (the message lists the ones that do).
    """

    dataset_path: str
    config: str | None = None
    split: str | None = None
    is_distiset: bool | None = None
    storage_options: dict[str, Any] = Field(default_factory=dict, repr=False)  # may hold credentials

    _dataset: Any = PrivateAttr(default=None)
    _columns: frozenset[str] | None = PrivateAttr(default=None)

    @field_validator("dataset_path", mode="before")
    @classmethod
    def _path_as_string(cls, value: Any) -> Any:
        return as_str(value)

    def columns_after(self, incoming: set[str] | None) -> set[str] | None:
        """The dataset's columns (read once); ``None`` (unknown) when it cannot be opened yet: the run
        reports that on load."""
        if self._columns is None:
            try:
                self._columns = self._peek_columns()
            except (ConfigError, OSError, ValueError):
                return None
        return {self.output_mappings.get(c, c) for c in self._columns}

    def _peek_columns(self) -> frozenset[str]:
        loaded = self._dataset
        try:
            self.load()
            return frozenset(self._dataset.column_names)
        finally:
            self._dataset = loaded  # the planner's copy stays light to pickle

    def load(self) -> None:
        """Find the dataset folder to read and open it (memory-mapped)."""
        import datasets
        from fsspec.core import url_to_fs

        fs, root = url_to_fs(str(self.dataset_path), **self.storage_options)
        if not fs.isdir(root):
            raise ConfigError(f"LoadDataFromDisk '{self.name}': '{self.dataset_path}' does not exist: expected {_EXPECTED}")
        folder = self._pick_config(fs, root)
        loaded = datasets.load_from_disk(_join(self.dataset_path, folder), storage_options=self.storage_options or None)
        self._dataset = self._pick_split(loaded)

    def dump(self) -> dict[str, Any]:
        dumped = super().dump()
        dumped["storage_options"] = public_options(self.storage_options)
        return dumped

    def unload(self) -> None:
        self._dataset = None

    def source_state(self) -> Any:
        """Size and modification time of every file of the saved dataset: saving over it changes it."""
        from fsspec.core import url_to_fs

        fs, root = url_to_fs(str(self.dataset_path), **self.storage_options)
        if not fs.isdir(root):
            return "missing"  # the run itself reports it, on load
        return [file_state(fs, path) for path in sorted(fs.find(root))]

    def process(self, offset: int = 0) -> GeneratorStepOutput:
        """Yield ``(rows, last_batch)`` from row ``offset`` on."""
        if self._dataset is None:
            self.load()
        yield from batches_with_last(dataset_rows(self._dataset, offset), self.batch_size)

    # ---- layout ----------------------------------------------------------------------------
    def _pick_config(self, fs: Any, root: str) -> str:
        """The sub-folder to load: ``""`` for a plain saved dataset, a leaf name for a Distiset."""
        plain = fs.exists(f"{root}/{_DATASET_MARK}") or fs.exists(f"{root}/{_DATASET_DICT_MARK}")
        if plain and not self.is_distiset:
            if self.config is not None:
                raise ConfigError(f"LoadDataFromDisk '{self.name}': config={self.config!r} was given but "
                                  f"'{self.dataset_path}' is a saved dataset, not a Distiset: drop config=")
            return ""
        configs = sorted(p.rstrip("/").rsplit("/", 1)[-1] for p in fs.ls(root, detail=False)
                         if fs.exists(f"{p}/{_DATASET_DICT_MARK}"))
        if not configs:
            raise ConfigError(f"LoadDataFromDisk '{self.name}': '{self.dataset_path}' holds no saved dataset: expected {_EXPECTED}")
        return _choose("config", self.config, configs, self.name, "default")

    def _pick_split(self, loaded: Any) -> Any:
        if not hasattr(loaded, "keys"):  # a Dataset: no splits to choose from
            return loaded
        return loaded[_choose("split", self.split, sorted(loaded.keys()), self.name, "train")]


def _choose(kind: str, wanted: str | None, options: list[str], step: str | None, default: str) -> str:
    if wanted is None:
        if default in options:
            return default
        if len(options) == 1:
            return options[0]
        raise ConfigError(f"LoadDataFromDisk '{step}': several {kind}s found ({', '.join(options)}): choose one with {kind}=")
    if wanted not in options:
        raise ConfigError(f"LoadDataFromDisk '{step}': {kind} {wanted!r} not found. Available: {', '.join(options)}")
    return wanted


def _join(base: str, child: str) -> str:
    return f"{str(base).rstrip('/')}/{child}" if child else str(base)
