"""``LoadDataFromDicts`` and ``rows_from_dataset``: rows that are already in memory."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from itertools import chain, repeat
from typing import Any

from pydantic import Field, PrivateAttr, SkipValidation, field_validator

from synthgen.columns import Piece, slice_pieces
from synthgen.errors import ConfigError
from synthgen.steps.base import GeneratorStep, GeneratorStepOutput, Row
from synthgen.steps.loaders import inline
from synthgen.steps.loaders._batching import batches_with_last, limit_rows
from synthgen.store import Store, active_store
from synthgen.values import table_to_rows

ACCEPTED = "a datasets.Dataset, a list of dicts or a pandas DataFrame"


class LoadDataFromDicts(GeneratorStep):
    """Emit in-memory rows, in order, ``batch_size`` at a time.

    The rows are data, not configuration: a run writes them to the cache once, as one object, and the
    step's fingerprint, pipeline.yaml and the worker processes carry only that object's digest (with a
    few sample rows in pipeline.yaml). A step built from pipeline.yaml reads them back from the cache.

    Args:
        data: the rows, one dict per row; or the reference to stored rows that pipeline.yaml holds.
        batch_size: rows per batch (runtime parameter).

    Output columns:
        every key that appears in ``data``, in order of first appearance.
    """

    # Excluded from the generic dump: dump() writes the reference instead of the rows. Not validated by
    # pydantic, which would copy every row (1M rows: ~200 MB more); _reference_or_rows checks the shape.
    data: SkipValidation[list[dict[str, Any]] | dict[str, Any]] = Field(exclude=True)
    _digest: str | None = PrivateAttr(default=None)
    _columns: list[str] | None = PrivateAttr(default=None)
    _stored_in: str | None = PrivateAttr(default=None)

    @field_validator("data")
    @classmethod
    def _reference_or_rows(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return inline.check_reference(value)
        if not isinstance(value, list) or not all(map(isinstance, value, repeat(dict))):  # in C: 1M rows
            raise ValueError("data must be a list of dicts, one per row")
        return value

    def __setattr__(self, name: str, value: Any) -> None:
        super().__setattr__(name, value)
        if name == "data":  # new rows (``pipeline.run(dataset=...)`` again): a new hash, columns, object
            self._digest = self._columns = self._stored_in = None

    @property
    def outputs(self) -> list[str]:
        if self._columns is None:
            self._columns = (list(self.data["columns"]) if isinstance(self.data, dict)
                             else list(dict.fromkeys(chain.from_iterable(self.rows_given()))))
        return list(self._columns)

    def rows_given(self) -> list[Row]:
        """The rows passed as ``data`` (empty for a step built from a reference)."""
        return [] if isinstance(self.data, dict) else self.data

    def data_reference(self) -> dict[str, Any]:
        """``{"inline_rows": <digest>, "num_rows", "columns", "sample"}``: the rows, as pipeline.yaml names them."""
        if isinstance(self.data, dict):
            return self.data
        if self._digest is None:
            self._digest = inline.content_hash(self.data)
        return inline.reference(self._digest, self.data, self.outputs)

    def dump(self) -> dict[str, Any]:
        return {**super().dump(), "data": self.data_reference()}

    def store_inline_data(self, store: Store) -> list[str]:
        key = self.data_reference()[inline.REFERENCE_KEY]
        if isinstance(self.data, dict):
            digest = inline.stored_object(store, key, str(self.name))
        else:
            digest = inline.store_rows(store, key, self.data)
        self._stored_in = store.location
        return [digest]

    def __getstate__(self) -> dict[Any, Any]:
        # Once the rows are in the store, a copy of this step (a worker's, or any other step's that
        # travels with its pipeline) carries their reference, never the rows themselves.
        state = super().__getstate__()
        if self._stored_in is not None and not isinstance(self.data, dict):
            state["__dict__"] = {**state["__dict__"], "data": self.data_reference()}
        return state

    def process(self, offset: int = 0) -> GeneratorStepOutput:
        """Yield ``(rows, last_batch)`` from row ``offset`` on (``offset`` > 0 when a run resumes)."""
        if isinstance(self.data, dict):
            yield from self._stored_batches(offset)
            return
        rows = (dict(row) for row in limit_rows(self.data, offset, None))
        yield from batches_with_last(rows, self.batch_size)

    def _stored_batches(self, offset: int) -> GeneratorStepOutput:
        """Batches of the stored rows, decoded one batch at a time."""
        table = inline.read_rows_table(self._store(), self.data, str(self.name))  # type: ignore[arg-type]
        if offset >= table.num_rows:
            yield [], True
            return
        for start in range(offset, table.num_rows, self.batch_size):
            stop = min(table.num_rows, start + self.batch_size)
            yield table_to_rows(table.slice(start, stop - start)), stop >= table.num_rows

    def stored_slices(self, store: Store) -> Iterator[tuple[int, dict[str, list[Piece]], bool]] | None:
        """The batches as slices of the stored columns, ``(rows, pieces per column, last)``: a worker
        writes each one's manifest without decoding or encoding a row. ``None`` when the rows are not
        stored as columns (a cache from an earlier synthgen) or are renamed (``output_mappings``)."""
        if not isinstance(self.data, dict) or self.output_mappings:
            return None
        manifest = store.manifest(inline.recorded_object(store, self.data[inline.REFERENCE_KEY], str(self.name)))
        if manifest is None:
            return None
        return self._slices(*manifest)

    def _slices(self, rows: int, pieces: dict[str, list[Piece]]) -> Iterator[tuple[int, dict[str, list[Piece]], bool]]:
        if rows == 0:
            yield 0, {name: [] for name in pieces}, True
        for start in range(0, rows, self.batch_size):
            stop = min(rows, start + self.batch_size)
            yield stop - start, {name: slice_pieces(p, start, stop) for name, p in pieces.items()}, stop >= rows

    def _store(self) -> Store:
        """The running pipeline's store (in a worker), else the one the rows were written to, else the pipeline's."""
        store = active_store()
        if store is not None:
            return store
        if self._stored_in is not None:
            return Store(self._stored_in)
        return Store(self.pipeline.cache_dir if self.pipeline is not None else None)


def rows_from_dataset(dataset: Any) -> list[Row]:
    """Turn the ``dataset=`` argument of ``Pipeline.run`` into a list of row dicts.

    Args:
        dataset: a ``datasets.Dataset``, a list of dicts or a ``pandas.DataFrame``.

    Returns:
        The rows as plain dicts, in order.

    Raises:
        ConfigError: for any other type (a ``DatasetDict`` is told to pick a split).
    """
    if isinstance(dataset, list):
        return _rows_from_list(dataset)
    # Check module types only when the module is already imported: an object cannot be a DataFrame
    # if pandas was never imported, and this keeps `import synthgen` light.
    pandas = sys.modules.get("pandas")
    if pandas is not None and isinstance(dataset, pandas.DataFrame):
        return [dict(row) for row in dataset.to_dict(orient="records")]
    hf = sys.modules.get("datasets")
    if hf is not None and isinstance(dataset, hf.Dataset):
        return dataset.to_list()
    if hf is not None and isinstance(dataset, hf.DatasetDict):
        raise ConfigError(
            f"dataset= got a DatasetDict with splits {', '.join(dataset)}: pass one split, e.g. dataset['train']"
        )
    raise ConfigError(f"dataset= got {type(dataset).__name__}: expected {ACCEPTED}")


def _rows_from_list(rows: list[Any]) -> list[Row]:
    for index, row in enumerate(rows):
        if not isinstance(row, dict):
            raise ConfigError(
                f"dataset= list item {index} is {type(row).__name__}, not a dict: expected {ACCEPTED}"
            )
    return [dict(row) for row in rows]
