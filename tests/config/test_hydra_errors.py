"""What the command-line check composes: each sweep at its first value, every option of a swept group."""

from __future__ import annotations

import pytest

from synthgen.config.hydra_errors import checkable_overrides
from synthgen.errors import UsageError


def test_swept_groups_and_short_sweeps_are_checked_value_by_value_long_ones_at_their_first() -> None:
    lists = checkable_overrides(["-m", "llm=fake,openai", "llm.generation_kwargs.temperature=0.2,0.8",
                                 "num_rows=range(1,20)", "hydra.job.chdir=true", "hydra.searchpath=[file:///x]"])
    first = ["llm=fake", "llm.generation_kwargs.temperature=0.2", "num_rows=1", "hydra.searchpath=[file:///x]"]
    assert lists == [
        first,
        ["llm=openai", *first[1:]],
        [first[0], "llm.generation_kwargs.temperature=0.8", *first[2:]],
    ]


@pytest.mark.parametrize("argv", [["--help"], ["--cfg", "job"], ["-cn", "other"]])
def test_hydra_flags_are_left_to_hydra(argv: list[str]) -> None:
    assert checkable_overrides(argv) is None


def test_an_unparsable_override_is_a_usage_error_naming_it() -> None:
    with pytest.raises(UsageError, match=r"cannot parse override 'llm.model=\[x' \("):
        checkable_overrides(["num_rows=1", "llm.model=[x"])
