"""The pure planner: load stages, validation errors, signatures."""

from __future__ import annotations

import subprocess
import sys

import pytest

from synthgen import GlobalStep, Pipeline, Step, StepResources
from synthgen.errors import PlanError
from synthgen.testing.steps import AddColumn, GenerateNumbers


class DummyStep(Step):
    @property
    def inputs(self) -> list[str]:
        return ["n"]

    def process(self, *inputs):  # type: ignore[no-untyped-def]
        yield inputs[0]


class GlobalDummyStep(GlobalStep):
    def process(self, *inputs):  # type: ignore[no-untyped-def]
        yield inputs[0]


class LoadDataFromDicts(GenerateNumbers):
    """Named like the built-in so the stage names match the issue's example."""


def test_global_step_splits_pipeline_into_three_stages() -> None:
    with Pipeline(name="stages") as p:
        LoadDataFromDicts() >> DummyStep() >> GlobalDummyStep() >> DummyStep()
    assert p.get_load_stages()[0] == [["load_data_from_dicts_0", "dummy_step_0"], ["global_dummy_step_0"], ["dummy_step_1"]]


def test_load_groups_make_their_own_stage() -> None:
    with Pipeline(name="groups") as p:
        load = LoadDataFromDicts()
        a, b, c = DummyStep(), DummyStep(), DummyStep()
        load >> a >> b >> c
    stages, groups = p.get_load_stages(load_groups=[[b]])
    assert stages == [["load_data_from_dicts_0", "dummy_step_0"], ["dummy_step_1"], ["dummy_step_2"]]
    assert groups == [["dummy_step_1"]]


def test_sequential_step_execution_gives_one_stage_per_step() -> None:
    with Pipeline(name="seq") as p:
        LoadDataFromDicts() >> DummyStep() >> DummyStep()
    assert p.get_load_stages("sequential_step_execution")[0] == [
        ["load_data_from_dicts_0"], ["dummy_step_0"], ["dummy_step_1"]]


def test_parallel_branches_share_a_stage() -> None:
    with Pipeline(name="branches") as p:
        load = LoadDataFromDicts()
        load >> [DummyStep(), DummyStep()]
    assert p.get_load_stages()[0] == [["load_data_from_dicts_0", "dummy_step_0", "dummy_step_1"]]


@pytest.mark.parametrize(
    ("groups", "message"),
    [
        ([["nope"]], "load_groups[0] names unknown step 'nope'"),
        ([["dummy_step_0"], ["dummy_step_0"]], "step 'dummy_step_0' is in load_groups[0] and load_groups[1]"),
        ([["dummy_step_0", "dummy_step_2"]], "cannot be one contiguous stage"),
        ("everything_at_once", "unknown load_groups mode 'everything_at_once'"),
    ],
)
def test_bad_load_groups_are_clear_errors(groups: object, message: str) -> None:
    with Pipeline(name="bad") as p:
        LoadDataFromDicts() >> DummyStep() >> DummyStep() >> DummyStep()
    with pytest.raises(PlanError) as err:
        p.get_load_stages(groups)  # type: ignore[arg-type]
    assert message in str(err.value)


def _validate(p: Pipeline) -> None:
    from synthgen import plan

    plan.validate(p.graph())


def test_cycle_is_reported_with_its_steps() -> None:
    with Pipeline(name="cycle") as p:
        load = LoadDataFromDicts()
        a, b = DummyStep(), DummyStep()
        load >> a >> b >> a
    with pytest.raises(PlanError, match="cycle through steps dummy_step_0, dummy_step_1"):
        _validate(p)


def test_step_not_connected_to_a_generator() -> None:
    with Pipeline(name="orphan") as p:
        LoadDataFromDicts()
        DummyStep()
    with pytest.raises(PlanError, match="step 'dummy_step_0' is not connected to a generator step"):
        _validate(p)


def test_missing_input_column_names_step_column_and_fix() -> None:
    with Pipeline(name="cols") as p:
        LoadDataFromDicts() >> AddColumn(source="instruction")
    with pytest.raises(PlanError) as err:
        _validate(p)
    assert "step 'add_column_0' needs input column(s) 'instruction'" in str(err.value)
    assert "Available: n" in str(err.value) and "input_mappings" in str(err.value)


def test_input_mappings_satisfy_a_column_check() -> None:
    with Pipeline(name="mapped") as p:
        LoadDataFromDicts() >> AddColumn(source="instruction", input_mappings={"instruction": "n"})
    _validate(p)


def test_global_step_with_replicas_is_rejected() -> None:
    with Pipeline(name="glob") as p:
        LoadDataFromDicts() >> GlobalDummyStep(resources=StepResources(replicas=2))
    with pytest.raises(PlanError, match="global step 'global_dummy_step_0' has replicas=2"):
        _validate(p)


def test_generators_with_different_batch_sizes_feeding_one_step() -> None:
    with Pipeline(name="gens") as p:
        a, b = GenerateNumbers(batch_size=10), GenerateNumbers(batch_size=20)
        [a, b] >> DummyStep()
    with pytest.raises(PlanError, match="different batch sizes"):
        _validate(p)


def test_duplicate_step_names_are_rejected() -> None:
    with pytest.raises(PlanError, match="step name 'x' is used twice"):
        with Pipeline(name="dup"):
            DummyStep(name="x")
            DummyStep(name="x")


def test_stage_needing_more_gpus_than_exist_suggests_load_groups(monkeypatch: pytest.MonkeyPatch) -> None:
    from synthgen.runner.gpus import assign_gpus

    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1")
    with Pipeline(name="gpus") as p:
        load = LoadDataFromDicts()
        load >> [AddColumn(resources=StepResources(gpus=2)), AddColumn(resources=StepResources(gpus=1))]
    with pytest.raises(PlanError, match="needs 3 GPUs but 2 are available: split it with load_groups"):
        assign_gpus(p.graph(), p.get_load_stages()[0])
    stages = p.get_load_stages("sequential_step_execution")[0]
    assert assign_gpus(p.graph(), stages) == {"add_column_0": [["0", "1"]], "add_column_1": [["0"]]}


@pytest.mark.parametrize("visible, ids", [("0,1", ["0", "1"]), ("GPU-8e1c,MIG-5f2a", ["GPU-8e1c", "MIG-5f2a"]),
                                          ("2,-1,3", ["2"]), ("-1", []), ("", [])])
def test_visible_devices_are_read_as_cuda_reads_them(monkeypatch: pytest.MonkeyPatch, visible: str,
                                                     ids: list[str]) -> None:
    from synthgen.runner.gpus import available_gpus

    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", visible)
    assert available_gpus() == ids


SIG_SCRIPT = """
from synthgen import Pipeline
from synthgen.testing.steps import AddColumn, GenerateNumbers
with Pipeline(name="sig") as p:
    GenerateNumbers(count=5) >> AddColumn(factor=3)
print(p.signature, p.aggregated_steps_signature)
"""


def test_signatures_are_stable_across_fresh_interpreters() -> None:
    runs = [subprocess.run([sys.executable, "-c", SIG_SCRIPT], capture_output=True, text=True, check=True).stdout
            for _ in range(2)]
    assert runs[0] == runs[1] and len(runs[0].split()) == 2


def test_aggregated_signature_covers_parameters_but_not_resources() -> None:
    def build(**kwargs: object) -> Pipeline:
        with Pipeline(name="s") as p:
            GenerateNumbers(count=5) >> AddColumn(**kwargs)  # type: ignore[arg-type]
        return p

    base = build(factor=2)
    assert build(factor=3).signature == base.signature
    assert build(factor=3).aggregated_steps_signature != base.aggregated_steps_signature
    assert build(factor=2, resources=StepResources(replicas=4), input_batch_size=7).aggregated_steps_signature \
        == base.aggregated_steps_signature


def test_a_lone_surrogate_hashes_instead_of_raising_and_other_text_hashes_as_before() -> None:
    import hashlib

    from synthgen.hashing import stable_hash

    assert stable_hash({"text": "\udc80"}) != stable_hash({"text": "\udc81"})
    assert stable_hash({"text": "é✓"}) == hashlib.sha256('{"text":"é✓"}'.encode()).hexdigest()


def test_each_node_has_its_step_kind_whose_value_is_the_name_journals_keep() -> None:
    import json

    from synthgen.plan import StepKind

    with Pipeline(name="kinds") as p:
        LoadDataFromDicts() >> DummyStep() >> GlobalDummyStep()
    kinds = {name: node.kind for name, node in p.graph().nodes.items()}
    assert kinds == {"load_data_from_dicts_0": StepKind.GENERATOR, "dummy_step_0": StepKind.NORMAL,
                     "global_dummy_step_0": StepKind.GLOBAL}
    assert [json.dumps(k) for k in kinds.values()] == ['"generator"', '"normal"', '"global"']
    assert [f"{k}" for k in kinds.values()] == ["generator", "normal", "global"]  # messages print the name


def test_the_kinds_a_step_can_have_are_the_plans_step_kinds() -> None:
    import typing

    from synthgen.plan import StepKind
    from synthgen.steps.base import step_kind

    declared = typing.get_args(typing.get_type_hints(step_kind)["return"])
    assert set(declared) == {kind.value for kind in StepKind}
