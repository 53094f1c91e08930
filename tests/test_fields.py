"""``synthgen.fields``: how a field declares its place in the fingerprint, and the fingerprints it keeps.

The pins below were computed on main before the declarations replaced the hand-kept lists
(``NON_OUTPUT_FIELDS``, ``ENGINE_FIELDS``, ``signature_exclude``): a cache written before must still hit.
"""

from __future__ import annotations

from typing import Annotated, Any

import pytest
from pydantic import BaseModel, SecretStr

from synthgen.fields import Fingerprint, declared_fingerprint, fingerprint_data, in_fingerprint
from synthgen.llms.anthropic import AnthropicLLM
from synthgen.llms.openai import OpenAILLM
from synthgen.llms.openai_embeddings import OpenAIEmbeddings
from synthgen.plan import stable_hash, step_fingerprint
from synthgen.steps import Step, StepInput, StepOutput
from synthgen.steps.columns import KeepColumns
from synthgen.steps.filtering import FilterRows
from synthgen.steps.loaders.dicts import LoadDataFromDicts
from synthgen.tasks.embedding_generation import EmbeddingGeneration, GenerateEmbeddings
from synthgen.tasks.magpie import MagpieGenerator
from synthgen.tasks.text_generation import TextGeneration
from synthgen.testing.fake_llm import FakeLLM
from synthgen.testing.steps import AddColumn, GenerateNumbers

URL = "http://127.0.0.1:9/v1"


class Answer(BaseModel):
    text: str
    score: int


def _openai(**knobs: Any) -> OpenAILLM:
    return OpenAILLM(model="gpt-x", base_url=URL, api_key=SecretStr("sk-pin"), generation_kwargs={"temperature": 0.3},
                     **knobs)


KNOBS = {"max_concurrency": 3, "max_retries": 1, "timeout": 5.0, "requests_per_minute": 60,
         "circuit_breaker_threshold": 2, "rate_limit_patience": 9.0}
CASES = {
    "openai": lambda: _openai(**KNOBS),
    "anthropic": lambda: AnthropicLLM(model="claude-x", api_key=SecretStr("k"), use_offline_batch_generation=True,
                                      offline_batch_max_requests=10),
    "openai_embeddings": lambda: OpenAIEmbeddings(model="e", base_url=URL, timeout=3.0, batch_size=8, dimensions=16),
    "text_generation": lambda: TextGeneration(name="gen", llm=_openai(**KNOBS), input_batch_size=7, num_generations=2,
                                              structured_output=Answer, template="Q: {{ instruction }}"),
    "magpie_generator": lambda: MagpieGenerator(llm=_openai(), num_rows=5, batch_size=2),
    "embedding_generation": lambda: EmbeddingGeneration(embeddings=OpenAIEmbeddings(model="e", base_url=URL)),
    "generate_embeddings": lambda: GenerateEmbeddings(llm=OpenAIEmbeddings(model="e", base_url=URL, max_retries=1)),
    "load_data_from_dicts": lambda: LoadDataFromDicts(data=[{"a": 1}, {"a": 2}], batch_size=1),
    "keep_columns": lambda: KeepColumns(columns=["a"], input_mappings={"a": "b"}, use_cache=False),
    "filter_rows": lambda: FilterRows(condition="a > 1", input_batch_size=3),
    "add_column": lambda: AddColumn(factor=2, delay=0.5, count_dir="/tmp/x"),
    "generate_numbers": lambda: GenerateNumbers(count=4, delay=0.1, wait_for="x"),
}
PINNED = {
    "openai": "c38bf3b50e04c118011adb74dc0f20dd9bab936eb351310a49cf0cd74c13c33d",
    "anthropic": "07860f70c79f076fd960d80579716b8eeeb2a53362c49a6375af63a46bf75510",
    "openai_embeddings": "b3efc1255aa026d91917a260beadc61679dfc304457e78814e1cb823ee816ae7",
    "text_generation": "67a882bd98da8214a4f52b8e8a66223b36d5805d602aafbb08b3ac476b6c1408",
    "magpie_generator": "20ea4d8ff0abbf67c4c47846d291788acd178675f153c2c9a6f1737e2161efe5",
    "embedding_generation": "dd63fc56fbee92062352a59b204921ec6742a0b24d46b2ba3c70cbf39a13a5b0",
    "generate_embeddings": "e4805d89f72215deee1db87e0cc59dd2ebc34900107ddc6439106e53fbd2de53",
    "load_data_from_dicts": "d055981c48dc318140a63b49d928387985ac3308d418e7074065c4633a0b24ba",
    "keep_columns": "4b87597ff6c0eed232a5cce4d35a684eb45067edd133cce5a43f8a146a595058",
    "filter_rows": "72747f0fa975fdebe523de3dfd97192f7eca9068e5637b263bee5a4b8fdb18df",
    "add_column": "d1771f018d897221e5908cc6779a71238fd8a7effeebcdcf7a0f51fe24baeeaa",
    "generate_numbers": "80a26a808f20ec5f4a001814f84c7dd3d468f010e18bbce4ad99a99ada64571c",
}


def fingerprint(obj: Any) -> str:
    return step_fingerprint(obj) if hasattr(obj, "input_columns") else stable_hash(obj.fingerprint_params())


@pytest.mark.parametrize("case", sorted(CASES))
def test_fingerprints_are_those_of_the_hand_kept_lists(case: str) -> None:
    assert fingerprint(CASES[case]()) == PINNED[case]


class Base(Step):
    knob: Annotated[int, Fingerprint.IGNORE] = 1
    undone: Annotated[int, Fingerprint.IGNORE] = 1
    setting: int = 1
    key: SecretStr | None = None

    def process(self, *inputs: StepInput) -> StepOutput:
        yield []


class Child(Base):
    knob: int = 2  # a new default keeps the parent's declaration
    undone: Annotated[int, Fingerprint.INCLUDE] = 2


def test_a_field_is_in_the_fingerprint_unless_declared_ignore_or_secret() -> None:
    assert [in_fingerprint(Base, f) for f in ("knob", "setting", "key", "input_batch_size", "name")] == [
        False, True, False, False, False]
    assert declared_fingerprint(Base, "setting") is None


def test_a_redeclared_field_keeps_its_parents_declaration_unless_it_says_otherwise() -> None:
    assert not in_fingerprint(Child, "knob") and in_fingerprint(Child, "undone")
    assert fingerprint(Child(knob=5)) == fingerprint(Child(knob=6)) != fingerprint(Child(undone=6))


def test_fingerprint_data_drops_class_and_ignored_fields_and_asks_nested_models() -> None:
    step = TextGeneration(llm=FakeLLM(model="m"), input_batch_size=3)
    data = fingerprint_data(step, step.dump())
    assert "class" not in data and "input_batch_size" not in data and data["type"] == "text_generation"
    assert data["llm"] == FakeLLM(model="m").fingerprint_params()


def test_secrets_never_reach_a_fingerprint() -> None:
    llm = _openai()
    assert "sk-pin" not in str(llm.fingerprint_params()) and "api_key" not in llm.fingerprint_params()
