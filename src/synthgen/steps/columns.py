"""Column steps: keep, combine, expand and group columns of rows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import ConfigDict, Field, field_validator, model_validator

from synthgen.errors import ConfigError, StepError, did_you_mean
from synthgen.steps.base import Row, Step, StepInput, StepOutput

METADATA_KEY = "synthgen_metadata"
"""The per-row dict where tasks record raw outputs and statistics; merged, never overwritten."""


class KeepColumns(Step):
    """Keep only ``columns`` (in that order) and drop everything else, ``synthgen_metadata`` included.

    Args:
        columns: the columns to keep; output rows list them in this order.

    Input columns: ``columns``. Output columns: exactly ``columns``.
    """

    columns: list[str] = Field(min_length=1)

    @property
    def inputs(self) -> list[str]:
        return list(self.columns)

    @property
    def outputs(self) -> list[str]:
        return list(self.columns)

    def columns_after(self, incoming: set[str] | None) -> set[str] | None:
        return set(self.output_columns())

    def process(self, *inputs: StepInput) -> StepOutput:
        for rows in inputs:
            yield [{column: require(row, column, self.name) for column in self.columns} for row in rows]


class CombineOutputs(Step):
    """Merge the row-aligned outputs of several predecessors into one row per position.

    Row ``i`` of the output holds the columns of row ``i`` of every predecessor; when two
    predecessors have the same column, the later one wins. ``synthgen_metadata`` dicts are merged.

    Input columns: none required. Output columns: the union of the predecessors' columns.

    Raises:
        StepError: when the predecessors' batches do not have the same number of rows.
    """

    def process(self, *inputs: StepInput) -> StepOutput:
        yield [merge_rows(group) for group in zip_inputs(inputs, self.name)]


class ExpandColumns(Step):
    """Emit one row per element of list columns (an "explode"), copying the other columns.

    Several columns are expanded together: element ``i`` of each goes to output row ``i``. A row
    whose lists are empty produces no rows; a ``None`` value counts as one ``None`` element, so a
    failed generation keeps its row.

    Args:
        columns: the list columns to expand, or a mapping ``{column: new_name}`` to rename them.
        split_statistics: divide the token counts in ``synthgen_metadata["statistics_*"]`` among
            the expanded rows (list counts by position, numbers evenly) instead of copying them.

    Input columns: the keys of ``columns``. Output columns: their new names.

    Raises:
        StepError: when a value is not a list, or expanded lists of one row differ in length.
    """

    columns: dict[str, str] = Field(min_length=1)
    split_statistics: bool = False

    @field_validator("columns", mode="before")
    @classmethod
    def _as_mapping(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [value]
        return {column: column for column in value} if isinstance(value, (list, tuple)) else value

    @property
    def inputs(self) -> list[str]:
        return list(self.columns)

    @property
    def outputs(self) -> list[str]:
        return list(self.columns.values())

    def columns_after(self, incoming: set[str] | None) -> set[str] | None:
        if incoming is None:
            return None
        renamed = {self.input_mappings.get(c, c) for c, new in self.columns.items() if c != new}
        return (set(incoming) - renamed) | set(self.output_columns())

    def process(self, *inputs: StepInput) -> StepOutput:
        for rows in inputs:
            yield [out for row in rows for out in self._expand(row)]

    def _expand(self, row: Row) -> list[Row]:
        values = {column: self._as_list(row, column) for column in self.columns}
        lengths = {len(v) for v in values.values()}
        if len(lengths) > 1:
            detail = ", ".join(f"{c}={len(v)}" for c, v in values.items())
            raise StepError(str(self.name), f"cannot expand lists of different lengths in one row ({detail})")
        count = lengths.pop()
        base = {k: v for k, v in row.items() if k not in self.columns}
        expanded = [{**base, **{self.columns[c]: v[i] for c, v in values.items()}} for i in range(count)]
        if self.split_statistics and isinstance(row.get(METADATA_KEY), dict):
            for i, out in enumerate(expanded):
                out[METADATA_KEY] = split_statistics(row[METADATA_KEY], i, count)
        return expanded

    def _as_list(self, row: Row, column: str) -> list[Any]:
        value = require(row, column, self.name)
        if value is None:
            return [None]
        if not isinstance(value, (list, tuple)):
            raise StepError(str(self.name), f"column '{column}' holds a {type(value).__name__}, not a list: "
                                            f"ExpandColumns expands list columns only")
        return list(value)


class GroupColumns(Step):
    """Group a column across several predecessors: row ``i`` gets the list of its values.

    Args:
        columns: the columns to group.
        output_columns: the names of the grouped columns; default ``grouped_<column>``.

    Input columns: ``columns``. Output columns: ``output_columns`` (the grouped columns replace
    the originals; other columns are taken from the last predecessor that has them).

    Raises:
        ConfigError: when ``output_columns`` and ``columns`` differ in length.
        StepError: when the predecessors' batches do not have the same number of rows.
    """

    columns: list[str] = Field(min_length=1)
    # `output_columns` is also a method of every step, so the field takes that name only as an alias.
    output_columns_: list[str] | None = Field(default=None, alias="output_columns")

    model_config = ConfigDict(populate_by_name=True)

    @model_validator(mode="after")
    def _check_lengths(self) -> GroupColumns:
        if self.output_columns_ is not None and len(self.output_columns_) != len(self.columns):
            raise ConfigError(
                f"GroupColumns: output_columns has {len(self.output_columns_)} names for {len(self.columns)} "
                f"columns: give one output name per column"
            )
        return self

    @property
    def inputs(self) -> list[str]:
        return list(self.columns)

    @property
    def outputs(self) -> list[str]:
        return list(self.output_columns_ or [f"grouped_{column}" for column in self.columns])

    def columns_after(self, incoming: set[str] | None) -> set[str] | None:
        if incoming is None:
            return None
        return (set(incoming) - set(self.input_columns())) | set(self.output_columns())

    def dump(self) -> dict[str, Any]:
        dumped = super().dump()
        dumped["output_columns"] = dumped.pop("output_columns_")
        return dumped

    def process(self, *inputs: StepInput) -> StepOutput:
        names = dict(zip(self.columns, self.outputs, strict=True))
        yield [self._group(group, names) for group in zip_inputs(inputs, self.name)]

    def _group(self, rows: Sequence[Row], names: dict[str, str]) -> Row:
        merged = merge_rows([{k: v for k, v in row.items() if k not in names} for row in rows])
        for column, grouped in names.items():
            merged[grouped] = [require(row, column, self.name) for row in rows]
        return merged


class CombineColumns(GroupColumns):
    """distilabel's name for :class:`GroupColumns`: the same columns of several predecessors, as lists.

    Row ``i`` gets, for each of ``columns``, the list of its values in row ``i`` of every
    predecessor (in connection order), e.g. the ``generation`` of three generators as ``generations``.

    Args:
        columns: the columns to combine.
        output_columns: the names of the combined columns; default ``merged_<column>`` (distilabel's).

    Input columns: ``columns``. Output columns: ``output_columns``.

    Raises:
        ConfigError: when ``output_columns`` and ``columns`` differ in length.
        StepError: when the predecessors' batches do not have the same number of rows.
    """

    @property
    def outputs(self) -> list[str]:
        return list(self.output_columns_ or [f"merged_{column}" for column in self.columns])


# ---- shared helpers ----------------------------------------------------------------------------
def require(row: Row, column: str, step: str | None) -> Any:
    """``row[column]``, or a StepError naming the column and the row's columns."""
    try:
        return row[column]
    except KeyError:
        raise StepError(
            str(step), f"row has no column '{column}'{did_you_mean(column, row) or '.'} Row columns: {', '.join(row) or 'none'}"
        ) from None


def zip_inputs(inputs: Sequence[StepInput], step: str | None) -> list[tuple[Row, ...]]:
    """Rows of each predecessor at the same position; their batches must be the same size."""
    sizes = [len(rows) for rows in inputs]
    if len(set(sizes)) > 1:
        detail = ", ".join(f"input {i}: {n}" for i, n in enumerate(sizes))
        raise StepError(
            str(step), f"predecessors sent batches of different sizes ({detail}): rows are merged by position, so "
                       f"every predecessor must emit the same rows in the same order"
        )
    return list(zip(*inputs, strict=True))


def merge_rows(rows: Sequence[Row]) -> Row:
    """Later rows win on conflicting columns; ``synthgen_metadata`` dicts are merged, not replaced."""
    merged: Row = {}
    metadata: dict[str, Any] = {}
    for row in rows:
        merged.update({k: v for k, v in row.items() if k != METADATA_KEY})
        if isinstance(row.get(METADATA_KEY), dict):
            metadata.update(row[METADATA_KEY])
    if metadata:
        merged[METADATA_KEY] = metadata
    return merged


def split_statistics(metadata: dict[str, Any], index: int, count: int) -> dict[str, Any]:
    """The share of ``statistics_*`` token counts that belongs to expanded row ``index`` of ``count``."""
    out = dict(metadata)
    for key, stats in metadata.items():
        if key.startswith("statistics_") and isinstance(stats, dict):
            out[key] = {name: _share(value, index, count) for name, value in stats.items()}
    return out


def _share(value: Any, index: int, count: int) -> Any:
    if isinstance(value, list) and len(value) == count:
        return [value[index]]
    if isinstance(value, int) and not isinstance(value, bool):
        # Even split; the remainder goes to the first rows so the counts still add up.
        return value // count + (1 if index < value % count else 0)
    return value
