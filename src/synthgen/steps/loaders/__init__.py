"""Loaders: generator steps that bring rows into a pipeline."""

from synthgen.steps.loaders.dicts import LoadDataFromDicts, rows_from_dataset
from synthgen.steps.loaders.disk import LoadDataFromDisk
from synthgen.steps.loaders.files import LoadDataFromFileSystem
from synthgen.steps.loaders.hub import LoadDataFromHub

__all__ = ["LoadDataFromDicts", "LoadDataFromDisk", "LoadDataFromFileSystem", "LoadDataFromHub", "rows_from_dataset"]
