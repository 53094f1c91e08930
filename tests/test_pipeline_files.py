"""``pipeline.save(path, format=...)`` and ``Pipeline.from_yaml`` / ``from_json``: the same pipeline back."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from synthgen import Pipeline
from synthgen.errors import ConfigError
from synthgen.steps import KeepColumns, LoadDataFromDicts
from synthgen.tasks import TextGeneration
from synthgen.testing import FakeLLM


def _pipeline(cache: Path) -> Pipeline:
    with Pipeline(name="saved", description="to disk and back", cache_dir=cache) as p:
        load = LoadDataFromDicts(name="load", data=[{"page": "a"}, {"page": "b"}])
        gen = TextGeneration(name="gen", columns="page", llm=FakeLLM(prefix="x:"))
        keep = KeepColumns(name="keep", columns=["page", "generation"])
        load >> gen >> keep
    return p


@pytest.mark.parametrize(("fmt", "load"), [("yaml", Pipeline.from_yaml), ("json", Pipeline.from_json)])
def test_saved_pipeline_comes_back_with_the_same_signatures(tmp_path: Path, fmt: str, load: object) -> None:
    p = _pipeline(tmp_path)
    p.save(tmp_path / f"out/pipeline.{fmt}", format=fmt)
    again = load(tmp_path / f"out/pipeline.{fmt}", cache_dir=tmp_path)  # type: ignore[operator]
    assert again.name == "saved" and again.description == "to disk and back"
    assert again.signature == p.signature
    assert again.aggregated_steps_signature == p.aggregated_steps_signature
    assert again.edges == p.edges


def test_a_loaded_pipeline_runs_from_the_cache_of_the_saved_one(tmp_path: Path) -> None:
    p = _pipeline(tmp_path)
    first = p.run()["default"]["train"].to_list()
    p.save(tmp_path / "pipeline.yaml")
    again = Pipeline.from_yaml(tmp_path / "pipeline.yaml", cache_dir=tmp_path)
    assert again.run()["default"]["train"].to_list() == first


def test_a_runs_recorded_pipeline_yaml_loads_too(tmp_path: Path) -> None:
    p = _pipeline(tmp_path)
    p.run()
    [recorded] = list(tmp_path.glob("saved/*/pipeline.yaml"))
    assert Pipeline.from_yaml(recorded).aggregated_steps_signature == p.aggregated_steps_signature


def test_saving_never_writes_an_api_key(tmp_path: Path) -> None:
    from synthgen.llms import OpenAILLM

    with Pipeline(name="secret", cache_dir=tmp_path) as p:
        LoadDataFromDicts(data=[{"instruction": "a"}]) >> TextGeneration(llm=OpenAILLM(model="m", api_key="sk-SECRET"))
    p.save(tmp_path / "p.yaml")
    assert "sk-SECRET" not in (tmp_path / "p.yaml").read_text()


@pytest.mark.parametrize(("write", "fmt", "message"), [
    (None, "yaml", "cannot read pipeline file"),
    ("a: [unclosed", "yaml", "is not valid YAML"),
    ("{nope", "json", "is not valid JSON"),
    ("name: x", "yaml", "has no `steps:`"),
])
def test_bad_files_are_config_errors(tmp_path: Path, write: str | None, fmt: str, message: str) -> None:
    path = tmp_path / f"p.{fmt}"
    if write is not None:
        path.write_text(write)
    with pytest.raises(ConfigError, match=message):
        Pipeline.from_yaml(path) if fmt == "yaml" else Pipeline.from_json(path)


def test_an_unknown_format_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown pipeline file format 'toml': use 'yaml' or 'json'"):
        _pipeline(tmp_path).save(tmp_path / "p.toml", format="toml")


def test_loading_a_pipeline_imports_no_hydra(tmp_path: Path) -> None:
    _pipeline(tmp_path).save(tmp_path / "p.yaml")
    code = ("import sys; from synthgen import Pipeline; Pipeline.from_yaml(sys.argv[1]); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('hydra', 'omegaconf')))")
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "p.yaml")], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"
