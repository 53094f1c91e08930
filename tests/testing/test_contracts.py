"""The contract suites pass a well-behaved step and backend and catch each broken one."""

from __future__ import annotations

import inspect
import threading
from collections.abc import Callable, Iterator
from typing import Annotated, Any, ClassVar

import pytest
from pydantic import Field, SecretStr

from synthgen.errors import RegistryError
from synthgen.llms.base import LLM
from synthgen.llms.requests import Request, Result
from synthgen.plugins import get_plugin_manager, hookimpl, reset_plugin_manager
from synthgen.steps import Fingerprint, Step
from synthgen.testing.contracts import LLMContract, StepContract

ContractFailure = (AssertionError, pytest.fail.Exception)


class Upper(Step):
    token: SecretStr | None = None

    @property
    def inputs(self) -> list[str]:
        return ["text"]

    @property
    def outputs(self) -> list[str]:
        return ["upper"]

    def process(self, *inputs: Any) -> Any:
        yield [{**row, "upper": row["text"].upper()} for row in inputs[0]]


class LeakyStep(Upper):
    password: str = "hunter2"


class LockedStep(Upper):
    lock: Any = Field(default_factory=threading.Lock)


class ForgetfulStep(Upper):
    def process(self, *inputs: Any) -> Any:
        yield [dict(row) for row in inputs[0]]


class DriftingStep(Upper):
    calls: int = 0

    def process(self, *inputs: Any) -> Any:
        self.calls += 1
        yield from super().process(*inputs)


class KnobInFingerprintStep(Upper):
    log_every: Annotated[int, Fingerprint.IGNORE] = 10

    def fingerprint_params(self) -> dict[str, Any]:  # adds back what the field says never changes rows
        return {**super().fingerprint_params(), "log_every": self.log_every}


class SettingDroppedStep(Upper):
    suffix: str = "!"

    def fingerprint_params(self) -> dict[str, Any]:  # loses a setting that changes rows
        return {k: v for k, v in super().fingerprint_params().items() if k != "suffix"}


class Parrot(LLM):
    type_name: ClassVar[str] = "parrot"
    api_key: SecretStr | None = None

    @property
    def model_name(self) -> str:
        return "parrot"

    def _generate_requests(self, requests: list[Request]) -> list[Result]:
        return [Result(text="squawk", input_tokens=1, output_tokens=1) for _ in requests]


class OneShotParrot(Parrot):
    type_name: ClassVar[str] = "one_shot_parrot"

    def generate(self, inputs: list[Any], num_generations: int = 1, **kwargs: Any) -> Any:
        return super().generate(inputs, num_generations=1, **kwargs)


class LeakyParrot(Parrot):
    type_name: ClassVar[str] = "leaky_parrot"
    secret: str = "sk-leaky"


class ForgetfulParrot(Parrot):
    type_name: ClassVar[str] = "forgetful_parrot"
    temperature: float = 1.0

    def fingerprint_params(self) -> dict[str, Any]:
        return {k: v for k, v in super().fingerprint_params().items() if k != "temperature"}


class _TestClasses:
    @hookimpl
    def synthgen_register_steps(self, register: Any) -> None:
        for cls in (Upper, LeakyStep, LockedStep, ForgetfulStep, DriftingStep, KnobInFingerprintStep,
                    SettingDroppedStep):
            register.add_step(cls)

    @hookimpl
    def synthgen_register_llms(self, register: Any) -> None:
        for cls in (Parrot, OneShotParrot, LeakyParrot, ForgetfulParrot):
            register.add_llm(cls)


@pytest.fixture(autouse=True)
def registered() -> Iterator[None]:
    reset_plugin_manager()
    get_plugin_manager().register(_TestClasses(), name="contract_test_classes")
    yield
    reset_plugin_manager()


def step_contract(factory: Callable[[], Step], secrets: tuple[str, ...] = ()) -> StepContract:
    suite = type("Suite", (StepContract,), {"step_factory": staticmethod(factory), "secret_values": secrets,
                                            "sample_inputs": [[{"text": "a"}, {"text": "b"}]]})
    return suite()  # type: ignore[no-any-return]


def llm_contract(factory: Callable[[], LLM], secrets: tuple[str, ...] = ()) -> LLMContract:
    suite = type("Suite", (LLMContract,), {"llm_factory": staticmethod(factory), "secret_values": secrets})
    return suite()  # type: ignore[no-any-return]


STEP_TESTS = [n for n in dir(StepContract) if n.startswith("test_")]
LLM_TESTS = [n for n in dir(LLMContract) if n.startswith("test_")]


@pytest.mark.parametrize("name", STEP_TESTS)
def test_a_good_step_passes_every_check(name: str) -> None:
    getattr(step_contract(lambda: Upper(token="tok-123"), secrets=("tok-123",)), name)()


@pytest.mark.parametrize(
    ("factory", "check", "secrets"),
    [
        (LeakyStep, "test_dump_has_no_secrets", ("hunter2",)),
        (LockedStep, "test_is_picklable", ()),
        (ForgetfulStep, "test_process_yields_lists_of_rows_with_declared_outputs", ()),
        (DriftingStep, "test_fingerprint_is_stable", ()),
        (KnobInFingerprintStep, "test_fingerprint_follows_field_declarations", ()),
        (SettingDroppedStep, "test_fingerprint_follows_field_declarations", ()),
    ],
)
def test_a_broken_step_fails_its_check(factory: Callable[[], Step], check: str, secrets: tuple[str, ...]) -> None:
    with pytest.raises(ContractFailure):
        getattr(step_contract(factory, secrets), check)()


def test_an_unregistered_step_fails_the_registration_check() -> None:
    class Stray(Upper):
        pass

    with pytest.raises(RegistryError, match="unknown step type 'stray'"):
        step_contract(Stray).test_is_registered_under_its_name()


def test_a_suite_without_a_factory_says_what_to_set() -> None:
    with pytest.raises(pytest.fail.Exception, match="must set `step_factory`"):
        StepContract().make_step()


def _run_llm_check(suite: LLMContract, name: str) -> None:
    # Outside pytest's collection, hand the methods what their fixtures and parameters would.
    method = getattr(suite, name)
    params = inspect.signature(method).parameters
    if "loaded_llm" not in params:
        method()
        return
    llm = suite.make_llm()
    llm.load()
    try:
        method(llm, **({"num_generations": 3} if "num_generations" in params else {}))
    finally:
        llm.unload()


@pytest.mark.parametrize("name", LLM_TESTS)
def test_a_good_backend_passes_every_check(name: str) -> None:
    _run_llm_check(llm_contract(lambda: Parrot(api_key="sk-parrot"), secrets=("sk-parrot",)), name)


@pytest.mark.parametrize(
    ("factory", "check", "secrets"),
    [
        (OneShotParrot, "test_num_generations_is_respected", ()),
        (LeakyParrot, "test_no_secret_in_dump_or_repr", ("sk-leaky",)),
        (ForgetfulParrot, "test_fingerprint_follows_field_declarations", ()),
    ],
)
def test_a_broken_backend_fails_its_check(factory: Callable[[], LLM], check: str, secrets: tuple[str, ...]) -> None:
    with pytest.raises(ContractFailure):
        _run_llm_check(llm_contract(factory, secrets), check)
