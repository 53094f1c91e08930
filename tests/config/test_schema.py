"""Each config group has a ``base_<group>`` schema, so typos and wrong types fail at composition."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hydra.errors import ConfigCompositionException

from synthgen.config.hydra_app import compose
from synthgen.config.paths import conf_dir
from synthgen.config.schema import GROUP_SCHEMAS

OPTIONS = sorted((group, p.stem) for group in GROUP_SCHEMAS for p in (conf_dir() / group).glob("*.yaml"))


@pytest.mark.parametrize(("group", "option"), OPTIONS, ids=[f"{g}/{o}" for g, o in OPTIONS])
def test_every_option_yaml_extends_its_group_schema(group: str, option: str) -> None:
    data = yaml.safe_load((conf_dir() / group / f"{option}.yaml").read_text())
    assert data["defaults"] == [f"base_{group}", "_self_"]


@pytest.mark.parametrize(("group", "option"), OPTIONS, ids=[f"{g}/{o}" for g, o in OPTIONS])
def test_every_option_composes(group: str, option: str) -> None:
    cfg = compose([f"{group}={option}"])
    assert cfg[group] is not None


def test_every_group_has_the_required_options() -> None:
    names = {group: {o for g, o in OPTIONS if g == group} for group in GROUP_SCHEMAS}
    assert {"llamacpp", "openai", "anthropic", "vllm", "openai_compatible", "fake"} <= names["llm"]
    assert {"text_generation", "ultrafeedback", "self_instruct", "evol_instruct"} <= names["pipeline"]
    assert {"cpu", "single_gpu", "multi_gpu"} <= names["resources"]
    assert {"local", "ray"} <= names["runner"]


def test_defaults_are_ultrafeedback_on_the_embedded_model() -> None:
    cfg = compose()
    assert (cfg.pipeline.name, cfg.llm.type, cfg.runner.type) == ("ultrafeedback", "llamacpp", "local")
    assert cfg.num_rows == 10


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("llm.modle=x", "Key 'modle' not in 'LLMConf'"),
        ("num_rows=abc", "Value 'abc' of type 'str' could not be converted to Integer"),
        ("resources.llm_steps.gpus=many", "could not be converted to Integer"),
        ("runner.adress=x", "Key 'adress' not in 'RunnerConf'"),
    ],
)
def test_typo_or_wrong_type_in_override_fails_naming_the_key(override: str, expected: str) -> None:
    with pytest.raises(ConfigCompositionException) as info:
        compose([override])
    assert expected in f"{info.value} {info.value.__cause__}"


def test_typo_in_an_option_file_fails_naming_the_key(tmp_path: Path) -> None:
    (tmp_path / "llm").mkdir()
    (tmp_path / "llm" / "typo.yaml").write_text("defaults: [base_llm, _self_]\ntype: fake\ngeneration_kwarg: {}\n")
    with pytest.raises(ConfigCompositionException) as info:
        compose(["llm=typo", f"hydra.searchpath=[file://{tmp_path}]"])
    assert "generation_kwarg" in f"{info.value} {info.value.__cause__}"
