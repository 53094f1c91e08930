"""One override points a built-in pipeline at a Hub dataset: the file loader becomes a Hub loader."""

from __future__ import annotations

import pytest

from synthgen.config.hydra_app import compose, register, to_spec
from synthgen.config.loaders import retarget_loaders


@pytest.mark.parametrize("override", ["pipeline.steps.load.repo_id=org/name", "+pipeline.steps.load.repo_id=org/name"])
def test_a_repo_id_override_turns_the_seed_loader_into_a_hub_loader(override: str) -> None:
    register()
    spec = to_spec(compose(["pipeline=ultrafeedback", "llm=fake", "num_rows=5", override,
                            "+pipeline.steps.load.output_mappings={prompt: instruction}"]))
    load = spec["steps"]["load"]
    assert load["type"] == "load_data_from_hub" and load["repo_id"] == "org/name"
    assert load["num_examples"] == 5 and load["output_mappings"] == {"prompt": "instruction"}
    assert "data_files" not in load and "num_rows" not in load


def test_a_file_loader_without_repo_id_is_left_alone() -> None:
    spec = {"steps": {"load": {"type": "load_data_from_file_system", "data_files": "x.jsonl", "num_rows": 3}}}
    assert retarget_loaders({"steps": dict(spec["steps"])}) == spec


def test_the_retargeted_pipeline_builds_through_the_registry() -> None:
    from synthgen.config.build import build_pipeline

    register()
    spec = to_spec(compose(["pipeline=text_generation", "llm=fake", "pipeline.steps.load.repo_id=org/name",
                            "+pipeline.steps.load.split=test"]))
    pipeline = build_pipeline(spec)
    load = pipeline.steps["load"]
    assert type(load).__name__ == "LoadDataFromHub" and load.split == "test"  # type: ignore[attr-defined]
