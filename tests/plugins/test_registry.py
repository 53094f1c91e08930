"""The registry maps registered names to classes, lazily, and names owners in its errors."""

from __future__ import annotations

import pickle
import sys
from typing import ClassVar

import pytest

from synthgen.errors import RegistryError
from synthgen.llms.base import LLM
from synthgen.plugins import Registrar, Registry
from synthgen.steps import Step


class ShoutText(Step):
    pass


class Renamed(Step):
    type_name: ClassVar[str | None] = "custom_name"


class FakeBackend(LLM):
    type_name: ClassVar[str] = "fake_backend"

    @classmethod
    def registered_name(cls) -> str:
        return cls.type_name


def test_step_name_defaults_to_the_registered_name() -> None:
    registry = Registry()
    registry.add_step(ShoutText)
    registry.add_step(Renamed)
    assert registry.get_step("shout_text") is ShoutText
    assert registry.get_step("custom_name") is Renamed


def test_llm_name_defaults_to_its_type_name_and_can_be_overridden() -> None:
    registry = Registry()
    registry.add_llm(FakeBackend)
    registry.add_llm(FakeBackend, name="other")
    assert registry.get_llm("fake_backend") is FakeBackend
    assert registry.get_llm("other") is FakeBackend


def test_steps_and_llms_have_separate_namespaces() -> None:
    registry = Registry()
    registry.add_step(ShoutText, name="same")
    registry.add_llm(FakeBackend, name="same")
    assert registry.get_step("same") is ShoutText
    assert registry.get_llm("same") is FakeBackend


def test_duplicate_name_names_both_plugins() -> None:
    registry = Registry()
    Registrar(registry, "first_plugin").add_step(ShoutText)
    with pytest.raises(RegistryError) as info:
        Registrar(registry, "second_plugin").add_step(Renamed, name="shout_text")
    message = str(info.value)
    assert "'shout_text' is registered twice" in message
    assert "first_plugin" in message and "second_plugin" in message
    assert "SYNTHGEN_DISABLE_PLUGINS" in message


@pytest.mark.parametrize(
    ("kind", "name", "expected"),
    [
        ("step", "shout_txt", "unknown step type 'shout_txt' — did you mean 'shout_text'? Registered: custom_name, shout_text"),
        ("llm", "fake_bakend", "unknown LLM backend 'fake_bakend' — did you mean 'fake_backend'? Registered: fake_backend"),
        ("step", "zzz", "unknown step type 'zzz' Registered: custom_name, shout_text"),
    ],
)
def test_unknown_name_lists_the_registered_ones(kind: str, name: str, expected: str) -> None:
    registry = Registry()
    registry.add_step(ShoutText)
    registry.add_step(Renamed)
    registry.add_llm(FakeBackend)
    lookup = registry.get_step if kind == "step" else registry.get_llm
    with pytest.raises(RegistryError) as info:
        lookup(name)
    assert str(info.value) == expected


def test_a_class_registered_by_path_is_imported_only_when_looked_up() -> None:
    sys.modules.pop("json.tool", None)
    registry = Registry()
    registry.add_step("json.tool:main", name="lazy")
    assert "json.tool" not in sys.modules
    assert registry.steps["lazy"].path == "json.tool:main"
    assert registry.get_step("lazy") is sys.modules["json.tool"].main


def test_path_name_defaults_to_snake_case_of_the_class() -> None:
    registry = Registry()
    registry.add_step("some.module:MinHashDedup")
    assert list(registry.steps) == ["min_hash_dedup"]


@pytest.mark.parametrize("path", ["no_such_module_xyz:Thing", "json:NoSuchThing"])
def test_an_unimportable_path_names_the_plugin_and_the_fix(path: str) -> None:
    registry = Registry()
    Registrar(registry, "broken_plugin").add_llm(path, name="broken")
    with pytest.raises(RegistryError, match=r"llm 'broken' registered by plugin 'broken_plugin' points to") as info:
        registry.get_llm("broken")
    assert "SYNTHGEN_DISABLE_PLUGINS" in str(info.value)


def test_config_paths_keep_order_and_drop_repeats() -> None:
    registry = Registry()
    registry.add_config_path("pkg://a.conf", plugin="a")
    registry.add_config_path("pkg://b.conf", plugin="b")
    registry.add_config_path("pkg://a.conf", plugin="b")
    assert registry.config_paths == ["pkg://a.conf", "pkg://b.conf"]


def test_registered_by_reports_provenance() -> None:
    registry = Registry()
    registrar = Registrar(registry, "mine")
    registrar.add_step(ShoutText)
    registrar.add_llm(FakeBackend)
    registrar.add_config_path("pkg://mine.conf")
    registry.add_step(Renamed)
    assert registry.registered_by("mine") == {
        "steps": ["shout_text"], "llms": ["fake_backend"], "executors": [], "config_paths": ["pkg://mine.conf"],
    }
    assert registry.steps["custom_name"].plugin == "<direct>"


def test_the_registry_refuses_to_be_pickled() -> None:
    with pytest.raises(RegistryError, match="call get_registry\\(\\) in the worker"):
        pickle.dumps(Registry())


@pytest.mark.parametrize(("call", "expected"), [
    (lambda r: r.add_step("shout", ShoutText),
     "plugin 'mine': register.add_step(cls, name=None): cls must be a subclass of Step or 'module:Class', got "
     "'shout'; did you swap them? Call register.add_step(ShoutText, 'shout')"),
    (lambda r: r.add_llm(ShoutText), "register.add_llm(cls, name=None): cls must be a subclass of LLM"),
    (lambda r: r.add_step(FakeBackend), "cls must be a subclass of Step or 'module:Class', got <class"),
    (lambda r: r.add_step(ShoutText, name=3), "name must be a name like 'my_step' (letters, digits, _ . -), got 3"),
    (lambda r: r.add_llm("not a path"), "cls must be a subclass of LLM or 'module:Class', got 'not a path'"),
])
def test_wrong_registration_arguments_are_one_line_errors_at_registration(call, expected: str) -> None:  # type: ignore[no-untyped-def]
    registry = Registry()
    with pytest.raises(RegistryError) as info:
        call(Registrar(registry, "mine"))
    assert expected in str(info.value) and "\n" not in str(info.value)
    assert registry.steps == {} and registry.llms == {}
