"""Contract test suites for plugin authors: subclass one in your tests and pytest runs its checks.

.. code-block:: python

    from synthgen.testing.contracts import LLMContract, StepContract

    class TestReverseText(StepContract):
        step_factory = ReverseText            # a class or a zero-argument callable
        sample_inputs = [[{"text": "abc"}]]   # one list of rows per predecessor

    class TestEchoLLM(LLMContract):
        llm_factory = lambda: EchoLLM(model="echo")
        secret_values = ("sk-test",)          # strings that must never leak

The suites check what synthgen relies on when it runs a step or a backend in a spawned worker:
it pickles, ``dump()`` holds no secret and builds the same object back through the registry (so the
class is discoverable by its registered name), ``process`` / ``generate`` return the documented
shapes, and the fingerprint is stable and follows the fields' declarations (``Fingerprint.IGNORE``: set
``changed_values = {field: value}`` for a field whose other valid values the suite cannot guess).
Override a test method to adapt it to your class.
"""

from __future__ import annotations

import json
import pickle
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

import pytest
from pydantic import BaseModel, SecretStr

from synthgen.plan import step_fingerprint
from synthgen.plugins.manager import get_registry
from synthgen.plugins.registry import default_name
from synthgen.steps.base import BaseStep, GeneratorStep, StepResources, normalize_columns
from synthgen.testing.fingerprints import fingerprint_mismatches

Row = dict[str, Any]


def secret_strings(model: Any) -> list[str]:
    """Values of every ``SecretStr`` field of ``model`` and of the models nested in it."""
    if not isinstance(model, BaseModel):
        return []
    found: list[str] = []
    for value in model.__dict__.values():
        if isinstance(value, SecretStr):
            found.append(value.get_secret_value())
        found.extend(secret_strings(value))
    return [s for s in found if s]


def assert_no_secrets(obj: Any, secrets: tuple[str, ...] | list[str]) -> None:
    """Fail when a secret shows in ``obj``'s dump, repr or str."""
    texts = {"dump()": json.dumps(obj.dump(), default=str), "repr()": repr(obj), "str()": str(obj)}
    for secret in [*secrets, *secret_strings(obj)]:
        for where, text in texts.items():
            assert secret not in text, f"a secret value leaks into {type(obj).__name__}.{where}"


def build_from_dump(dumped: dict[str, Any], kind: str = "step") -> Any:
    """Build a step or LLM back from its ``dump()`` the way a config or ``pipeline.yaml`` is built.

    Raises:
        AssertionError: the registered name in the dump does not lead back to a registered class
            (the config builder would fall back to the recorded import path and hide that).
    """
    from synthgen.config.build import build_llm, build_step

    registry = get_registry()
    entries = registry.steps if kind == "step" else registry.llms
    assert dumped["type"] in entries, f"dump() records type '{dumped['type']}', which no plugin registered"
    if kind == "step":
        return build_step("contract", dumped)
    return build_llm(dumped, "the LLM contract")


def pickle_round_trip(obj: Any) -> Any:
    """``obj`` pickled and unpickled, as on its way to a spawned worker; a clear failure if it cannot be."""
    try:
        return pickle.loads(pickle.dumps(obj))
    except Exception as exc:  # any pickling error means the object cannot reach a worker
        pytest.fail(
            f"{type(obj).__name__} cannot be pickled ({type(exc).__name__}: {exc}): create live clients, "
            "locks and engines in load() and keep them in pydantic PrivateAttr fields"
        )


def _make(factory: Callable[[], Any] | None, attribute: str, owner: type) -> Any:
    if factory is None:
        pytest.fail(f"{owner.__name__} must set `{attribute}` to a class or a zero-argument callable")
    return factory()


class StepContract:
    """Checks every synthgen step must pass. Set ``step_factory`` and ``sample_inputs``."""

    step_factory: ClassVar[Callable[[], BaseStep] | None] = None
    sample_inputs: ClassVar[list[list[Row]]] = []
    """One list of rows per predecessor for ``process(*sample_inputs)``; unused by generator steps."""
    secret_values: ClassVar[tuple[str, ...]] = ()
    changed_values: ClassVar[dict[str, Any]] = {}
    """Field -> another valid value, where the suite's generic ones do not fit (see :func:`assert_fingerprint_follows_declarations`)."""

    def make_step(self) -> BaseStep:
        """A fresh step from ``step_factory``."""
        step: BaseStep = _make(type(self).step_factory, "step_factory", type(self))
        return step

    def run_process(self, step: BaseStep) -> list[list[Row]]:
        """Every batch ``process`` yields for ``sample_inputs`` (between ``load`` and ``unload``)."""
        step.load()
        try:
            if isinstance(step, GeneratorStep):
                return self._generator_batches(step)
            if not self.sample_inputs:
                pytest.fail(f"{type(self).__name__} must set `sample_inputs` (one list of rows per predecessor)")
            return [list(batch) for batch in step.process(*self.sample_inputs)]  # type: ignore[attr-defined]
        finally:
            step.unload()

    @staticmethod
    def _generator_batches(step: GeneratorStep) -> list[list[Row]]:
        pairs = list(step.process(0))
        assert pairs and pairs[-1][1], f"{type(step).__name__}.process never yielded last_batch=True"
        return [rows for rows, _ in pairs]

    def test_is_registered_under_its_name(self) -> None:
        step = self.make_step()
        assert get_registry().get_step(type(step).registered_name()) is type(step)

    def test_is_picklable(self) -> None:
        step = self.make_step()
        restored = pickle_round_trip(step)
        assert type(restored) is type(step)
        assert restored.dump() == step.dump()

    def test_dump_has_no_secrets(self) -> None:
        assert_no_secrets(self.make_step(), self.secret_values)

    def test_dump_round_trips_through_registry(self) -> None:
        step = self.make_step()
        dumped = step.dump()
        assert get_registry().get_step(dumped["type"]) is type(step)
        rebuilt = build_from_dump(dumped)
        assert type(rebuilt) is type(step)
        assert rebuilt.dump() == dumped

    def test_process_yields_lists_of_rows_with_declared_outputs(self) -> None:
        step = self.make_step()
        required = [c for c, req in normalize_columns(step.outputs).items() if req]
        batches = self.run_process(step)
        assert batches, f"{type(step).__name__}.process yielded no batch"
        for batch in batches:
            assert isinstance(batch, list), f"process must yield lists of rows, got {type(batch).__name__}"
            for row in batch:
                assert isinstance(row, dict), f"a row must be a dict, got {type(row).__name__}"
                missing = [c for c in required if c not in row]
                assert not missing, f"row lacks declared output columns {missing}: {row}"

    def test_fingerprint_is_stable(self) -> None:
        step = self.make_step()
        before = step_fingerprint(step)
        assert step_fingerprint(self.make_step()) == before
        assert step_fingerprint(pickle_round_trip(step)) == before
        self.run_process(step)
        assert step_fingerprint(step) == before, "processing a batch changed the step's fingerprint"

    def test_fingerprint_ignores_resources(self) -> None:
        step = self.make_step()
        scaled = step.model_copy(update={"resources": StepResources(replicas=3, cpus=2)})
        assert step_fingerprint(scaled) == step_fingerprint(step)

    def test_fingerprint_follows_field_declarations(self) -> None:
        assert_fingerprint_follows_declarations(self.make_step(), self.changed_values)


def assert_fingerprint_follows_declarations(model: Any, changed_values: dict[str, Any]) -> None:
    """Fail unless changing each field of ``model`` changes its fingerprint exactly when the field is part of
    it (not declared ``Fingerprint.IGNORE``, not a secret)."""
    wrong, untested = fingerprint_mismatches(model, changed_values)
    name = type(model).__name__
    assert not wrong, f"{name}: the fingerprint does not follow the declaration of: {', '.join(wrong)}"
    assert not untested, f"{name}: no other valid value found for {untested}: set changed_values = {{field: value}}"


def assert_generate_output(outputs: Any, n_inputs: int, num_generations: int) -> None:
    """Fail unless ``outputs`` has the documented ``LLM.generate`` shape.

    One dict per input: ``{"generations": [str | None, ...], "statistics": {"input_tokens": [int, ...],
    "output_tokens": [int, ...]}}`` with one entry per generation (other keys are allowed).
    """
    assert isinstance(outputs, list) and len(outputs) == n_inputs, f"expected {n_inputs} results, got {outputs!r}"
    for result in outputs:
        generations = result["generations"]
        assert len(generations) == num_generations, f"expected {num_generations} generations: {generations!r}"
        assert all(g is None or isinstance(g, str) for g in generations), f"generations must be str or None: {generations!r}"
        for counter in ("input_tokens", "output_tokens"):
            counts = result["statistics"][counter]
            assert len(counts) == num_generations, f"statistics.{counter} needs one entry per generation: {counts!r}"
            assert all(c is None or (isinstance(c, int) and c >= 0) for c in counts), f"bad {counter}: {counts!r}"


class LLMContract:
    """Checks every LLM backend must pass. Set ``llm_factory``; the backend must work offline here."""

    llm_factory: ClassVar[Callable[[], Any] | None] = None
    sample_inputs: ClassVar[list[Any]] = [
        [{"role": "user", "content": "Say hello."}],
        [{"role": "system", "content": "Answer briefly."}, {"role": "user", "content": "What is 2 + 2?"}],
    ]
    secret_values: ClassVar[tuple[str, ...]] = ()
    changed_values: ClassVar[dict[str, Any]] = {}
    """Field -> another valid value, where the suite's generic ones do not fit."""

    def make_llm(self) -> Any:
        """A fresh, unloaded backend from ``llm_factory``."""
        return _make(type(self).llm_factory, "llm_factory", type(self))

    @pytest.fixture
    def loaded_llm(self) -> Iterator[Any]:
        llm = self.make_llm()
        llm.load()
        yield llm
        llm.unload()

    def test_is_registered_under_its_name(self) -> None:
        llm = self.make_llm()
        assert get_registry().get_llm(default_name(type(llm))) is type(llm)

    def test_generate_returns_one_result_per_input(self, loaded_llm: Any) -> None:
        outputs = loaded_llm.generate(self.sample_inputs)
        assert_generate_output(outputs, len(self.sample_inputs), 1)

    @pytest.mark.parametrize("num_generations", [1, 3])
    def test_num_generations_is_respected(self, loaded_llm: Any, num_generations: int) -> None:
        outputs = loaded_llm.generate(self.sample_inputs, num_generations=num_generations)
        assert_generate_output(outputs, len(self.sample_inputs), num_generations)

    def test_no_secret_in_dump_or_repr(self, loaded_llm: Any) -> None:
        assert_no_secrets(loaded_llm, self.secret_values)

    def test_is_picklable(self) -> None:
        llm = self.make_llm()
        restored = pickle_round_trip(llm)
        assert type(restored) is type(llm)
        assert restored.dump() == llm.dump()

    def test_fingerprint_follows_field_declarations(self) -> None:
        assert_fingerprint_follows_declarations(self.make_llm(), self.changed_values)

    def test_dump_round_trips_through_registry(self) -> None:
        llm = self.make_llm()
        dumped = llm.dump()
        assert get_registry().get_llm(dumped["type"]) is type(llm)
        rebuilt = build_from_dump(dumped, kind="llm")
        assert rebuilt.dump() == dumped
        assert type(rebuilt) is type(llm)
