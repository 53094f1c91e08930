"""``LoadDataFromFileSystem``: stream rows from local or remote (fsspec) files."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import PurePath
from typing import Any, Literal

from pydantic import Field, PrivateAttr, field_validator

from synthgen.errors import ConfigError
from synthgen.steps.base import GeneratorStep, GeneratorStepOutput, Row
from synthgen.steps.loaders._batching import batches_with_last, limit_rows
from synthgen.steps.loaders._readers import FILETYPES, infer_filetype, peek_columns, read_rows

# storage_options keys that hold credentials: never written to pipeline.yaml or hashed.
_SECRET_OPTION_WORDS = ("key", "secret", "token", "password", "credential", "sas")


class LoadDataFromFileSystem(GeneratorStep):
    """Stream rows from jsonl, json, csv or parquet files, one batch at a time.

    Files are read lazily, so memory does not grow with file size for jsonl, csv and parquet (a
    ``.json`` file holding one JSON array is parsed whole).

    Args:
        data_files: a path, a glob (``data/*.jsonl``), a folder, an fsspec URL (``s3://b/x.parquet``)
            or a list of those. Files are read in sorted order within each entry.
        filetype: ``jsonl``, ``json``, ``csv`` or ``parquet``; inferred from the suffix when ``None``
            (compressed ``.gz``/``.zst``/... files are fine).
        storage_options: passed to fsspec (credentials are never dumped to pipeline.yaml).
        num_rows: read at most this many rows.
        batch_size: rows per batch (runtime parameter).

    Output columns:
        the files' columns: the planner reads the first file's schema (parquet, csv) or first row
        (jsonl, json) to check them before anything runs.

    Raises:
        ConfigError: on load, when an entry matches no file, or the file type cannot be inferred.
    """

    data_files: str | list[str]
    filetype: Literal["jsonl", "json", "csv", "parquet"] | None = None
    storage_options: dict[str, Any] = Field(default_factory=dict, repr=False)  # may hold credentials
    num_rows: int | None = Field(default=None, ge=0)

    _files: list[tuple[Any, str, str]] | None = PrivateAttr(default=None)
    _columns: frozenset[str] | None = PrivateAttr(default=None)

    @field_validator("data_files", mode="before")
    @classmethod
    def _paths_as_strings(cls, value: Any) -> Any:
        # Plain strings keep pipeline.yaml and the fingerprint the same for Path("x") and "x".
        return [str(v) for v in value] if isinstance(value, (list, tuple)) else as_str(value)

    def columns_after(self, incoming: set[str] | None) -> set[str] | None:
        """The first file's columns (read once), so a task needing a column the data lacks fails in the
        planner; ``None`` (unknown) when no file can be read yet: the run reports that on load."""
        if self._columns is None:
            try:
                self._columns = self._peek_columns()
            except (ConfigError, OSError, ValueError):
                return None
        return {self.output_mappings.get(c, c) for c in self._columns} if self._columns else None

    def _peek_columns(self) -> frozenset[str] | None:
        entries = self.data_files if isinstance(self.data_files, list) else [self.data_files]
        fs, path = self._expand(entries[0])[0]
        return peek_columns(fs, path, self._filetype_of(path))

    def load(self) -> None:
        """Resolve ``data_files`` into concrete files (fails early when one is missing)."""
        entries = self.data_files if isinstance(self.data_files, list) else [self.data_files]
        files = [(fs, path) for entry in entries for fs, path in self._expand(entry)]
        self._files = [(fs, path, self._filetype_of(path)) for fs, path in files]

    def unload(self) -> None:
        self._files = None

    def source_state(self) -> Any:
        """Each matched file with its size and modification time: appending rows changes it."""
        entries = self.data_files if isinstance(self.data_files, list) else [self.data_files]
        try:
            files = [(fs, path) for entry in entries for fs, path in self._expand(entry)]
        except ConfigError:
            return "missing"  # the run itself reports it, on load
        return [file_state(fs, path) for fs, path in files]

    def process(self, offset: int = 0) -> GeneratorStepOutput:
        """Yield ``(rows, last_batch)`` from row ``offset`` on."""
        if self._files is None:
            self.load()
        rows = limit_rows(self._rows(), offset, self.num_rows)
        yield from batches_with_last(rows, self.batch_size)

    def dump(self) -> dict[str, Any]:
        dumped = super().dump()
        dumped["storage_options"] = public_options(self.storage_options)
        return dumped

    # ---- helpers ---------------------------------------------------------------------------
    def _rows(self) -> Iterator[Row]:
        assert self._files is not None
        return itertools.chain.from_iterable(read_rows(fs, path, kind) for fs, path, kind in self._files)

    def _expand(self, entry: str) -> list[tuple[Any, str]]:
        from fsspec.core import url_to_fs

        fs, path = url_to_fs(entry, **self.storage_options)
        if any(char in path for char in "*?["):
            matches = sorted(fs.glob(path))
        elif fs.isdir(path):
            matches = sorted(p for p in fs.find(path) if infer_filetype(p) in self._wanted_types())
        else:
            matches = [path] if fs.exists(path) else []
        if not matches:
            raise ConfigError(
                f"LoadDataFromFileSystem '{self.name}': no {'/'.join(self._wanted_types())} file found at "
                f"'{entry}'. Give an existing file, folder or glob in data_files="
            )
        return [(fs, match) for match in matches]

    def _wanted_types(self) -> tuple[str, ...]:
        return (self.filetype,) if self.filetype else FILETYPES

    def _filetype_of(self, path: str) -> str:
        kind = self.filetype or infer_filetype(path)
        if kind is None:
            raise ConfigError(
                f"LoadDataFromFileSystem '{self.name}': cannot infer the file type of '{path}'. "
                f"Set filetype= to one of {', '.join(FILETYPES)}"
            )
        return kind


def file_state(fs: Any, path: str) -> list[Any]:
    """``[path, size, modified]`` of one file, for local disks and object stores alike."""
    info = fs.info(path)
    modified = info.get("mtime") or info.get("LastModified") or info.get("last_modified") or info.get("ETag")
    return [path, info.get("size"), str(modified)]


def as_str(value: Any) -> Any:
    """A ``pathlib.Path`` as its string; anything else unchanged (pydantic validates it)."""
    return str(value) if isinstance(value, PurePath) else value


def public_options(options: dict[str, Any]) -> dict[str, Any]:
    """``storage_options`` without the entries that look like credentials (for dumps and fingerprints)."""
    return {k: v for k, v in options.items() if not any(word in k.lower() for word in _SECRET_OPTION_WORDS)}

