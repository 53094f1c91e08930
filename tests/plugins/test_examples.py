"""The example plugin packages are found through the `synthgen` entry-point group."""

from __future__ import annotations

from pathlib import Path

import pytest

from synthgen.plugins import describe_plugins, get_registry


def test_reverse_text_step_is_discovered_through_its_entry_point(example_plugins: dict[str, Path]) -> None:
    registry = get_registry()
    entry = registry.steps["reverse_text"]
    assert entry.plugin == "reverse"
    assert registry.get_step("reverse_text").__module__ == "synthgen_reverse.step"


def test_echo_backend_is_discovered_through_its_entry_point(example_plugins: dict[str, Path]) -> None:
    registry = get_registry()
    assert registry.llms["echo"].plugin == "echo_llm"
    assert registry.get_llm("echo").__module__ == "synthgen_echo_llm.llm"


def test_examples_add_their_config_folders(example_plugins: dict[str, Path]) -> None:
    paths = get_registry().config_paths
    assert "pkg://synthgen_reverse.conf" in paths
    assert "pkg://synthgen_echo_llm.conf" in paths


@pytest.mark.parametrize(("dist", "option"), [("synthgen-reverse", "pipeline/reverse.yaml"), ("synthgen-echo-llm", "llm/echo.yaml")])
def test_examples_ship_their_config_option(example_plugins: dict[str, Path], dist: str, option: str) -> None:
    import importlib.resources

    package = dist.replace("-", "_")
    text = (importlib.resources.files(f"{package}.conf") / option).read_text()
    group = option.split("/")[0]
    assert f"- base_{group}" in text, f"{option} must start with defaults: [base_{group}, _self_]"


def test_examples_are_listed_with_their_versions(example_plugins: dict[str, Path]) -> None:
    by_name = {info["name"]: info for info in describe_plugins()}
    assert (by_name["reverse"]["package"], by_name["reverse"]["version"]) == ("synthgen-reverse", "0.1.0")
    assert by_name["echo_llm"]["llms"] == ["echo"]


def test_disabling_an_example_removes_what_it_registered(example_plugins: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNTHGEN_DISABLE_PLUGINS", "reverse")
    registry = get_registry()
    assert "reverse_text" not in registry.steps
    assert "pkg://synthgen_reverse.conf" not in registry.config_paths
    assert "echo" in registry.llms
