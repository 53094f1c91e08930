"""YAML syntax errors name the file, the line and the column, as an editor counts them."""

from __future__ import annotations

from pathlib import Path

import pytest

from synthgen.config.params import parse_param
from synthgen.errors import ConfigError
from synthgen.yaml_io import load_yaml_file


@pytest.mark.parametrize(("text", "where", "problem"), [
    ("pipeline:\n  name: x\n  steps: {load: [1, 2}\n", ":3:22:", "did not find expected ',' or ']'"),
    ("pipeline:\n  name: x\n   bad: indent\n", ":3:7:", "mapping values are not allowed"),
])
def test_a_broken_pipeline_yaml_names_file_line_and_column(tmp_path: Path, text: str, where: str, problem: str) -> None:
    path = tmp_path / "pipeline.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_yaml_file(path)
    assert str(info.value).startswith(f"{path}{where} invalid YAML: ")
    assert problem in str(info.value) and "\n" not in str(info.value)


def test_a_broken_param_value_names_its_column() -> None:
    with pytest.raises(ConfigError, match=r"bad --param 'gen.x=\[1, 2': the value is not valid YAML at column \d+: "):
        parse_param("gen.x=[1, 2")
