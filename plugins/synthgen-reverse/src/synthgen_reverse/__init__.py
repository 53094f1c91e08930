"""Example synthgen plugin: the ``reverse_text`` step and the ``pipeline=reverse`` config."""

from synthgen_reverse.step import ReverseText

__all__ = ["ReverseText"]
