from __future__ import annotations

import pickle

import pytest

from synthgen.errors import ConfigError, StepError
from synthgen.steps.filtering import FilterRows

ROWS = [{"n": i, "rating": None if i == 2 else i * 10, "text": f"t{i}", "tags": ["a"] * i} for i in range(5)]


def is_even(row: dict) -> bool:
    return row["n"] % 2 == 0


def _keep(step: FilterRows, rows: list[dict] = ROWS) -> list[int]:
    step.load()
    try:
        return [row["n"] for batch in step.process(rows) for row in batch]
    finally:
        step.unload()


@pytest.mark.parametrize(
    ("condition", "kept"),
    [
        ("n % 2 == 0 and rating is not None", [0, 4]),
        ("not n or n >= 3", [0, 3, 4]),
        ("rating is None", [2]),
        ("n in [1, 3] or text == 't4'", [1, 3, 4]),
        ("len(tags) > 2", [3, 4]),
        ("max(n, 2) == 2 and abs(-n) < 2", [0, 1]),
        ("any([n == 1, n == 2])", [1, 2]),
        ("tags[0] == 'a' if tags else False", [1, 2, 3, 4]),
        ("text[1:] == '3'", [3]),
        ("-n < -2", [3, 4]),
        ("(n + 1) * 2 // 3 ** 1 - n / 2 > 0", [1, 2, 3, 4]),
        ("n not in (0, 1)", [2, 3, 4]),
    ],
)
def test_expression_keeps_rows_where_it_is_true_in_order(condition: str, kept: list[int]) -> None:
    assert _keep(FilterRows(condition=condition)) == kept


@pytest.mark.parametrize(
    ("condition", "construct"),
    [
        ("n.__class__", "Attribute"),
        ("text.upper() == 'T1'", "Attribute"),
        ("__import__('os').system('true')", "Attribute"),
        ("__import__('os')", "call of __import__()"),
        ("open('/etc/passwd')", "call of open()"),
        ("eval('1')", "call of eval()"),
        ("[x for x in tags]", "ListComp"),
        ("(lambda: 1)()", "Lambda"),
        ("{'a': 1}", "Dict"),
        ("(y := 1)", "NamedExpr"),
        ("__builtins__", "name __builtins__"),
        ("f'{n}'", "JoinedStr"),
    ],
)
def test_forbidden_constructs_are_rejected_at_construction_naming_them(condition: str, construct: str) -> None:
    with pytest.raises(ConfigError) as info:
        FilterRows(condition=condition)
    assert f"uses a forbidden construct: {construct}" in str(info.value)
    assert "len, abs, min, max, any, all" in str(info.value)


def test_syntax_error_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="FilterRows condition 'n ==' is not a valid expression"):
        FilterRows(condition="n ==")


def test_statements_are_not_expressions() -> None:
    with pytest.raises(ConfigError, match="is not a valid expression"):
        FilterRows(condition="import os")


def test_unknown_column_at_run_time_names_it_and_the_row_columns() -> None:
    with pytest.raises(StepError) as info:
        _keep(FilterRows(condition="ratin > 3", name="keep_good"), [{"rating": 4, "n": 0}])
    message = str(info.value)
    assert "step 'keep_good' failed" in message
    assert "uses column 'ratin' that the row lacks — did you mean 'rating'? Row columns: rating, n" in message


def test_evaluation_error_names_the_condition() -> None:
    with pytest.raises(StepError, match=r"condition 'rating > 3' raised TypeError: .* on a row with columns"):
        _keep(FilterRows(condition="rating > 3", name="f"))


def test_expression_columns_are_required_inputs() -> None:
    assert FilterRows(condition="n > 1 and len(tags) > 0").inputs == ["n", "tags"]


def test_callable_condition_and_its_dump_as_import_path() -> None:
    step = FilterRows(condition=is_even)
    assert _keep(step) == [0, 2, 4]
    assert step.dump()["condition"] == f"{__name__}:is_even"
    assert step.inputs == []


def test_import_path_condition_round_trips_from_dump_with_the_same_fingerprint() -> None:
    step = FilterRows(condition=is_even)
    rebuilt = FilterRows(condition=step.dump()["condition"])
    assert _keep(rebuilt) == [0, 2, 4]
    assert rebuilt.fingerprint_params() == step.fingerprint_params()


def test_unimportable_path_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="'nope.module:fn': cannot import it"):
        FilterRows(condition="nope.module:fn")


def test_condition_string_is_in_the_fingerprint() -> None:
    a, b = FilterRows(condition="n > 1"), FilterRows(condition="n > 2")
    assert a.fingerprint_params()["condition"] == "n > 1"
    assert a.fingerprint_params() != b.fingerprint_params()


def test_different_lambdas_have_different_fingerprints() -> None:
    a = FilterRows(condition=lambda row: row["n"] > 1)
    b = FilterRows(condition=lambda row: row["n"] > 2)
    assert a.dump()["condition"] == b.dump()["condition"]
    assert a.fingerprint_params() != b.fingerprint_params()


def test_loaded_expression_step_pickles_for_worker_processes() -> None:
    step = FilterRows(condition="n > 2")
    step.load()
    clone = pickle.loads(pickle.dumps(step))
    assert _keep(clone) == [3, 4]
