"""``LoadDataFromDicts`` and ``rows_from_dataset``: rows that are already in memory."""

from __future__ import annotations

import sys
from typing import Any

from synthgen.errors import ConfigError
from synthgen.steps.base import GeneratorStep, GeneratorStepOutput, Row
from synthgen.steps.loaders._batching import batches_with_last, limit_rows

ACCEPTED = "a datasets.Dataset, a list of dicts or a pandas DataFrame"


class LoadDataFromDicts(GeneratorStep):
    """Emit in-memory rows, in order, ``batch_size`` at a time.

    Args:
        data: the rows, one dict per row. They are part of the step's fingerprint.
        batch_size: rows per batch (runtime parameter).

    Output columns:
        every key that appears in ``data``, in order of first appearance.
    """

    data: list[dict[str, Any]]

    @property
    def outputs(self) -> list[str]:
        return list(dict.fromkeys(key for row in self.data for key in row))

    def process(self, offset: int = 0) -> GeneratorStepOutput:
        """Yield ``(rows, last_batch)`` from row ``offset`` on (``offset`` > 0 when a run resumes)."""
        rows = (dict(row) for row in limit_rows(self.data, offset, None))
        yield from batches_with_last(rows, self.batch_size)


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
