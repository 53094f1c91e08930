"""Composition: the llm group reaches every task, steps can override it, data files resolve."""

from __future__ import annotations

from pathlib import Path

import pytest

from synthgen.config.build import build_pipeline
from synthgen.config.hydra_app import compose, to_spec
from synthgen.errors import ConfigError


def test_llm_group_reaches_every_task() -> None:
    spec = to_spec(compose(["pipeline=ultrafeedback", "llm=openai"]))
    assert spec["steps"]["generate"]["llm"]["model"] == spec["steps"]["judge"]["llm"]["model"] == "gpt-4o-mini"


def test_a_step_can_refine_its_own_llm() -> None:
    overrides = ["pipeline=ultrafeedback", "llm=openai", "pipeline.steps.judge.llm={model: gpt-4o}"]
    spec = to_spec(compose(overrides))
    assert spec["steps"]["judge"]["llm"]["model"] == "gpt-4o"
    assert spec["steps"]["judge"]["llm"]["type"] == "openai"
    assert spec["steps"]["judge"]["llm"]["generation_kwargs"]["temperature"] == 0.7
    assert spec["steps"]["generate"]["llm"]["model"] == "gpt-4o-mini"


def test_a_step_can_use_another_backend() -> None:
    overrides = ["pipeline=ultrafeedback", "llm=openai", "pipeline.steps.judge.llm={type: fake, model: judge}"]
    spec = to_spec(compose(overrides))
    assert spec["steps"]["judge"]["llm"] == {"type": "fake", "model": "judge"}


def test_bundled_data_resolves_to_a_shipped_file_and_can_be_overridden(tmp_path: Path) -> None:
    spec = to_spec(compose(["pipeline=self_instruct", "llm=fake"]))
    assert Path(spec["steps"]["load"]["data_files"]).is_file()
    own = tmp_path / "mine.jsonl"
    spec = to_spec(compose(["pipeline=self_instruct", f"pipeline.steps.load.data_files={own}"]))
    assert spec["steps"]["load"]["data_files"] == str(own)


def test_missing_bundled_file_is_a_config_error() -> None:
    cfg = compose(["pipeline.steps.load.data_files=${synthgen_data:nope.jsonl}"])
    with pytest.raises(ConfigError, match="no bundled data file 'nope.jsonl'.*Shipped: instructions.jsonl"):
        to_spec(cfg)


def test_openai_compatible_points_at_any_server() -> None:
    cfg = compose(["llm=openai_compatible", "llm.base_url=http://127.0.0.1:9/v1", "llm.model=m"])
    assert (cfg.llm.type, cfg.llm.base_url, cfg.llm.model) == ("openai", "http://127.0.0.1:9/v1", "m")


@pytest.mark.parametrize("pipeline", ["text_generation", "ultrafeedback", "self_instruct", "evol_instruct"])
def test_every_builtin_pipeline_builds_with_a_loader_named_load(pipeline: str) -> None:
    built = build_pipeline(to_spec(compose([f"pipeline={pipeline}", "llm=fake"])))
    assert built.name == pipeline
    assert type(built.steps["load"]).registered_name().startswith("load_data_from")
    from synthgen import plan

    plan.validate(built.graph())


def test_step_parameters_can_be_added_without_a_plus_and_a_loader_swapped() -> None:
    overrides = ["pipeline=text_generation", "pipeline.steps.generate.num_generations=2", "~pipeline.steps.load",
                 "+pipeline.steps.load={type: load_data_from_hub, repo_id: org/name}"]
    steps = to_spec(compose(overrides))["steps"]
    assert steps["generate"]["num_generations"] == 2
    assert {k: v for k, v in steps["load"].items() if k != "resources"} == {
        "type": "load_data_from_hub", "repo_id": "org/name"}
