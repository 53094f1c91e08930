"""The ``resources`` group sets replicas/GPUs: LLM steps, other steps, then per step name."""

from __future__ import annotations

import pytest

from synthgen.config.hydra_app import compose, to_spec
from synthgen.config.resources import apply_resources
from synthgen.errors import ConfigError

SPEC = {"steps": {"load": {"type": "x"}, "gen": {"type": "y", "llm": {"type": "fake"}, "resources": {"cpus": 2}}}}
GROUP = {"llm_steps": {"replicas": 2, "gpus": 1, "cpus": None}, "other_steps": {"replicas": 1}, "steps": {}}


def test_llm_steps_and_other_steps_get_their_defaults_and_keep_their_own() -> None:
    steps = apply_resources(SPEC, GROUP)["steps"]
    assert steps["load"]["resources"] == {"replicas": 1}
    assert steps["gen"]["resources"] == {"replicas": 2, "gpus": 1, "cpus": 2}


def test_per_step_entry_wins() -> None:
    steps = apply_resources(SPEC, {**GROUP, "steps": {"gen": {"replicas": 3}}})["steps"]
    assert steps["gen"]["resources"]["replicas"] == 3


def test_unknown_step_in_resources_is_an_error() -> None:
    with pytest.raises(ConfigError, match="resources.steps names unknown step 'gne' — did you mean 'gen'"):
        apply_resources(SPEC, {**GROUP, "steps": {"gne": {"replicas": 3}}})


def test_single_gpu_group_reaches_the_composed_llm_steps() -> None:
    spec = to_spec(compose(["pipeline=ultrafeedback", "llm=fake", "resources=single_gpu"]))
    assert spec["steps"]["judge"]["resources"]["gpus"] == 1
    assert "gpus" not in spec["steps"]["load"]["resources"]
