"""``--param step.key=value``: dotted paths into nested parameters, values parsed as YAML scalars."""

from __future__ import annotations

from typing import Any

import pytest

from synthgen.config.params import apply_params, parse_param
from synthgen.errors import ConfigError

SPEC: dict[str, Any] = {"pipeline": {"steps": {"gen": {"type": "text_generation", "llm": {"type": "fake"}}}}}


@pytest.mark.parametrize(
    ("text", "path", "value"),
    [
        ("gen.llm.generation_kwargs.temperature=0.9", ["gen", "llm", "generation_kwargs", "temperature"], 0.9),
        ("gen.num_generations=3", ["gen", "num_generations"], 3),
        ("gen.group_generations=true", ["gen", "group_generations"], True),
        ("gen.system_prompt=null", ["gen", "system_prompt"], None),
        ("gen.columns=[a, b]", ["gen", "columns"], ["a", "b"]),
        ("gen.system_prompt=be brief", ["gen", "system_prompt"], "be brief"),
    ],
)
def test_parse_param_reads_yaml_scalars(text: str, path: list[str], value: Any) -> None:
    assert parse_param(text) == (path, value)


def test_apply_params_creates_nested_keys_without_touching_the_input() -> None:
    out = apply_params(SPEC, ["gen.llm.generation_kwargs.temperature=0.9"])
    assert out["pipeline"]["steps"]["gen"]["llm"]["generation_kwargs"] == {"temperature": 0.9}
    assert "generation_kwargs" not in SPEC["pipeline"]["steps"]["gen"]["llm"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("gen.temperature", "bad --param 'gen.temperature': expected <step>.<key>"),
        ("gen=1", "expected <step>.<key>"),
        ("gen..x=1", "expected <step>.<key>"),
        ("gne.x=1", "names unknown step 'gne' — did you mean 'gen'?"),
        ("gen.type.x=1", "'gen.type' is 'text_generation', not a mapping"),
        ("gen.x=[unclosed", "the value is not valid YAML"),
    ],
)
def test_bad_params_are_config_errors(text: str, expected: str) -> None:
    with pytest.raises(ConfigError, match=".*") as info:
        apply_params(SPEC, [text])
    assert expected in str(info.value)
