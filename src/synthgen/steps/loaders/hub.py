"""``LoadDataFromHub``: rows of a Hugging Face Hub dataset (or a local dataset script/folder)."""

from __future__ import annotations

from typing import Any

from pydantic import Field, PrivateAttr

from synthgen.errors import ConfigError
from synthgen.steps.base import GeneratorStep, GeneratorStepOutput
from synthgen.steps.loaders._batching import batches_with_last, dataset_rows


class LoadDataFromHub(GeneratorStep):
    """Emit the rows of one split of a dataset loaded with ``datasets.load_dataset``.

    Args:
        repo_id: the Hub repository (``org/name``) or a local dataset folder/script.
        config: the dataset configuration (subset) name.
        split: the split to read.
        revision: a branch, tag or commit of the repository.
        num_examples: read at most this many rows.
        streaming: stream the split instead of downloading it first.
        batch_size: rows per batch (runtime parameter).

    Output columns:
        the dataset's columns, unknown until it is loaded.

    Raises:
        ConfigError: on load, when the dataset, config or split cannot be loaded.
    """

    repo_id: str
    config: str | None = None
    split: str = "train"
    revision: str | None = None
    num_examples: int | None = Field(default=None, ge=0)
    streaming: bool = False

    _dataset: Any = PrivateAttr(default=None)

    def columns_after(self, incoming: set[str] | None) -> set[str] | None:
        return None

    def load(self) -> None:
        """Load (or open a stream on) the split."""
        import datasets

        try:
            self._dataset = datasets.load_dataset(
                self.repo_id, self.config, split=self.split, revision=self.revision, streaming=self.streaming
            )
        except (FileNotFoundError, ValueError) as exc:
            raise ConfigError(
                f"LoadDataFromHub '{self.name}': cannot load split '{self.split}' of '{self.repo_id}'"
                f"{f' (config {self.config!r})' if self.config else ''}: {exc}"
            ) from exc

    def unload(self) -> None:
        self._dataset = None

    def process(self, offset: int = 0) -> GeneratorStepOutput:
        """Yield ``(rows, last_batch)`` from row ``offset`` on."""
        if self._dataset is None:
            self.load()
        rows = dataset_rows(self._dataset, offset, self.num_examples)
        yield from batches_with_last(rows, self.batch_size)
