"""``build_pipeline``: plain spec -> Pipeline, with the same signatures as the Python front door."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from synthgen import Pipeline
from synthgen.config.build import build_pipeline
from synthgen.config.hydra_app import compose, to_spec
from synthgen.config.paths import data_file
from synthgen.errors import ConfigError, PlanError, RegistryError
from synthgen.steps.base import Step, StepInput, StepOutput
from synthgen.steps.loaders import LoadDataFromDicts, LoadDataFromFileSystem
from synthgen.tasks.text_generation import TextGeneration
from synthgen.testing.fake_llm import FakeLLM


class AddSuffix(Step):
    """Not registered: rebuilt from the ``class`` import path recorded in pipeline.yaml."""

    suffix: str = "-a"

    @property
    def inputs(self) -> list[str]:
        return ["instruction"]

    def process(self, *inputs: StepInput) -> StepOutput:
        yield [{**row, "instruction": row["instruction"] + self.suffix} for row in inputs[0]]


def python_pipeline() -> Pipeline:
    with Pipeline(name="demo", description="built in Python") as pipeline:
        load = LoadDataFromDicts(name="load", data=[{"instruction": "hi"}, {"instruction": "yo"}], batch_size=2)
        suffix = AddSuffix(name="suffix", suffix="!")
        gen = TextGeneration(name="gen", llm=FakeLLM(model="m", generation_kwargs={"temperature": 0.3}),
                             num_generations=2)
        load >> suffix >> gen
    return pipeline


def roundtrip(pipeline: Pipeline) -> dict[str, Any]:
    return yaml.safe_load(yaml.safe_dump(pipeline.dump(), sort_keys=False))


def test_pipeline_yaml_rebuilds_with_equal_signatures() -> None:
    original = python_pipeline()
    rebuilt = build_pipeline(roundtrip(original))
    assert rebuilt.signature == original.signature
    assert rebuilt.aggregated_steps_signature == original.aggregated_steps_signature
    assert rebuilt.dump() == original.dump()


def test_nested_llm_is_built_through_the_registry() -> None:
    rebuilt = build_pipeline(roundtrip(python_pipeline()))
    llm = rebuilt.steps["gen"].llm  # type: ignore[attr-defined]
    assert isinstance(llm, FakeLLM)
    assert llm.generation_kwargs == {"temperature": 0.3}


def test_unregistered_step_falls_back_to_its_class_path() -> None:
    rebuilt = build_pipeline(roundtrip(python_pipeline()))
    assert type(rebuilt.steps["suffix"]) is AddSuffix


def test_composed_config_equals_the_same_pipeline_written_in_python() -> None:
    cfg = compose(["pipeline=text_generation", "llm=fake", "num_rows=4"])
    composed = build_pipeline(to_spec(cfg))
    with Pipeline(name="text_generation") as pipeline:
        load = LoadDataFromFileSystem(name="load", data_files=data_file("instructions.jsonl"), num_rows=4,
                                      batch_size=10)
        llm = FakeLLM(model="fake", generation_kwargs=dict(cfg.llm.generation_kwargs))
        load >> TextGeneration(name="generate", llm=llm)
    assert composed.signature == pipeline.signature
    assert composed.aggregated_steps_signature == pipeline.aggregated_steps_signature


def spec(**gen: Any) -> dict[str, Any]:
    return {"name": "p", "steps": {"load": {"type": "load_data_from_dicts", "data": [{"instruction": "x"}]},
                                   "gen": {"type": "text_generation", **gen}},
            "connections": [{"from": "load", "to": "gen"}]}


@pytest.mark.parametrize(
    ("bad", "error", "expected"),
    [
        (spec(llm={"type": "fake"}) | {"steps": {"g": {"type": "text_generaton"}}}, RegistryError,
         "did you mean 'text_generation'"),
        (spec(llm={"type": "fak"}), RegistryError, "did you mean 'fake'"),
        (spec(), ConfigError, "step 'gen' (text_generation): missing required parameter 'llm'"),
        (spec(llm={"type": "fake"}, num_generatons=2), ConfigError,
         "unknown parameter 'num_generatons' — did you mean 'num_generations'?"),
        (spec(llm={"type": "fake"}, num_generations="two"), ConfigError,
         "invalid value 'two' for parameter 'num_generations'"),
        (spec(llm={"type": "fake", "temprature": 1}), ConfigError, "llm 'fake' of step 'gen': unknown parameter 'temprature'"),
        (spec(llm={"type": "fake"}) | {"connections": [{"from": "load", "to": "gne"}]}, PlanError,
         "connections[0] names unknown step 'gne' — did you mean 'gen'?"),
        ({"name": "p", "steps": {}}, ConfigError, "the pipeline has no steps"),
        ({"steps": {"load": {"data": []}}}, ConfigError, "step 'load' needs a `type:`"),
    ],
)
def test_invalid_specs_fail_with_a_message_naming_the_problem(bad: dict[str, Any], error: type, expected: str) -> None:
    with pytest.raises(error) as info:
        build_pipeline(bad)
    assert expected in str(info.value)


def test_connection_to_a_list_of_steps() -> None:
    body = spec(llm={"type": "fake"})
    body["steps"]["gen2"] = {"type": "text_generation", "llm": {"type": "fake"}}
    body["connections"] = [{"from": "load", "to": ["gen", "gen2"]}]
    assert build_pipeline(body).edges == [("load", "gen"), ("load", "gen2")]


@pytest.mark.parametrize(("recorded", "expected"), [
    # A typo in a recorded pipeline.yaml: the class still imports, but is not run by its import path.
    ({"type": "text_generaton", "class": "synthgen.tasks.text_generation:TextGeneration"},
     "unknown step type 'text_generaton' — did you mean 'text_generation'?"),
    # A plugin step whose plugin is disabled or gone: its class lives in a plugin (here, synthgen's own) package.
    ({"type": "text_generation_old", "class": "synthgen.tasks.text_generation:TextGeneration"},
     "unknown step type 'text_generation_old'"),
    # An unregistered class whose name changed since the run was recorded.
    ({"type": "add_suffix_v0", "class": f"{__name__}:AddSuffix"}, "unknown step type 'add_suffix_v0'"),
])
def test_an_unknown_type_never_falls_back_to_the_recorded_import_path(recorded: dict[str, Any], expected: str) -> None:
    body = spec(llm={"type": "fake"})
    body["steps"]["gen"] |= recorded
    with pytest.raises(RegistryError) as info:
        build_pipeline(body)
    assert expected in str(info.value) and "Registered:" in str(info.value)


def test_a_step_of_a_disabled_plugin_is_not_run_by_its_import_path(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("synthgen_reverse")
    from synthgen.plugins import reset_plugin_manager

    monkeypatch.setenv("SYNTHGEN_DISABLE_PLUGINS", "reverse")
    reset_plugin_manager()
    try:
        body = spec(llm={"type": "fake"})
        body["steps"]["gen"] = {"type": "reverse_text", "class": "synthgen_reverse.step:ReverseText"}
        with pytest.raises(RegistryError, match="unknown step type 'reverse_text'"):
            build_pipeline(body)
    finally:
        monkeypatch.delenv("SYNTHGEN_DISABLE_PLUGINS")
        reset_plugin_manager()
