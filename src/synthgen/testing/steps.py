"""Small deterministic steps for tests of pipelines, runners and plugins.

They live in the package (not in a test module) so that spawned workers and Ray actors can import
them. Steps given ``count_dir`` append one line per processed batch to ``<count_dir>/<step name>``,
which lets a test count how often a step really ran across processes and runs.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Annotated, Any

from synthgen.steps.base import (
    Fingerprint,
    GeneratorStep,
    GeneratorStepOutput,
    GlobalStep,
    Step,
    StepInput,
    StepOutput,
)


def count_batch(count_dir: str | None, name: str | None, rows: int) -> None:
    if count_dir:
        with open(Path(count_dir) / str(name), "a") as fh:
            fh.write(f"{os.getpid()} {rows}\n")


def batches_run(count_dir: str | Path, name: str) -> int:
    """How many batches step ``name`` processed (0 when it never ran)."""
    path = Path(count_dir) / name
    return len(path.read_text().splitlines()) if path.exists() else 0


class GenerateNumbers(GeneratorStep):
    """Rows ``{"n": 0..count-1}``.

    ``wait_for``: after the first batch, wait (up to 60 s) for this file to exist before going on; a
    downstream step that creates it proves that batches stream to it while the source still runs.
    """

    count: int = 100
    delay: Annotated[float, Fingerprint.IGNORE] = 0.0
    wait_for: Annotated[str | None, Fingerprint.IGNORE] = None

    @property
    def outputs(self) -> list[str]:
        return ["n"]

    def process(self, offset: int = 0) -> GeneratorStepOutput:
        for start in range(offset, self.count, self.batch_size):
            stop = min(self.count, start + self.batch_size)
            time.sleep(self.delay)
            yield [{"n": i} for i in range(start, stop)], stop >= self.count
            if self.wait_for and start == offset:
                _wait_for(Path(self.wait_for))


def _wait_for(path: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{path} did not appear within {timeout:.0f} s: batches are not streaming")
        time.sleep(0.02)


class AddColumn(Step):
    """``out = n * factor + offset``; optionally sleeps per batch and counts batches."""

    factor: int = 1
    offset: int = 0
    output: str = "out"
    source: str = "n"
    delay: Annotated[float, Fingerprint.IGNORE] = 0.0
    count_dir: Annotated[str | None, Fingerprint.IGNORE] = None

    @property
    def inputs(self) -> list[str]:
        return [self.source]

    @property
    def outputs(self) -> list[str]:
        return [self.output]

    def unload(self) -> None:
        if self.count_dir:  # lets a test see that a replica unloaded (after Ctrl+C, say)
            (Path(self.count_dir) / f"{self.name}.unloaded").touch()

    def process(self, *inputs: StepInput) -> StepOutput:
        rows = inputs[0]
        time.sleep(self.delay)
        count_batch(self.count_dir, self.name, len(rows))
        yield [{**r, self.output: r[self.source] * self.factor + self.offset} for r in rows]


class FailOn(Step):
    """Raises ``ValueError`` on the row whose ``n`` equals ``value``."""

    value: int = 0

    @property
    def inputs(self) -> list[str]:
        return ["n"]

    def process(self, *inputs: StepInput) -> StepOutput:
        for r in inputs[0]:
            if r["n"] == self.value:
                raise ValueError(f"boom at n={self.value}")
        yield inputs[0]


class DieOnce(Step):
    """Ends its own process (``os._exit``) on the first batch holding ``n == value``; the marker file
    ``marker`` makes every later attempt pass the rows through (tests of a replica dying mid-batch)."""

    value: int = 0
    marker: Annotated[str, Fingerprint.IGNORE] = ""

    @property
    def inputs(self) -> list[str]:
        return ["n"]

    def process(self, *inputs: StepInput) -> StepOutput:
        if any(r["n"] == self.value for r in inputs[0]) and not Path(self.marker).exists():
            Path(self.marker).touch()
            os._exit(1)
        yield inputs[0]


class PlacementProbe(Step):
    """Reports where the Ray executor placed it, as a tensor-parallel vLLM step (``gpus=k`` and an LLM
    with ``tensor_parallel_size=k``) would be placed: its placement group's bundles, the GPUs it holds
    itself, and the GPU that a one-GPU task in each bundle gets (what vLLM's Ray workers would hold)."""

    tensor_parallel_size: int = 2

    @property
    def llm(self) -> Any:
        from types import SimpleNamespace

        # What the runner reads of a step's LLM: its model name (provenance) and its sharding.
        return SimpleNamespace(tensor_parallel_size=self.tensor_parallel_size, model_name="placement-probe")

    @property
    def outputs(self) -> list[str]:
        return ["bundles", "own_gpus", "worker_gpus"]

    def process(self, *inputs: StepInput) -> StepOutput:
        import json

        import ray
        from ray.util import get_current_placement_group
        from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy

        pg = get_current_placement_group()
        bundles, workers = [], []
        if pg is not None:
            bundles = pg.bundle_specs
            worker = ray.remote(num_gpus=1, num_cpus=0)(_gpu_ids)
            refs = [worker.options(scheduling_strategy=PlacementGroupSchedulingStrategy(pg, placement_group_bundle_index=i))
                    .remote() for i in range(len(bundles))]
            workers = ray.get(refs, timeout=60)
        for row in inputs[0]:
            row.update(bundles=json.dumps(bundles), own_gpus=len(ray.get_gpu_ids()), worker_gpus=json.dumps(workers))
        yield inputs[0]


def _gpu_ids() -> list[str]:
    import ray

    return [str(g) for g in ray.get_gpu_ids()]


class SumAll(GlobalStep):
    """Adds ``total``: the sum of ``n`` over every row."""

    delay: Annotated[float, Fingerprint.IGNORE] = 0.0
    count_dir: Annotated[str | None, Fingerprint.IGNORE] = None

    @property
    def inputs(self) -> list[str]:
        return ["n"]

    @property
    def outputs(self) -> list[str]:
        return ["total"]

    def process(self, *inputs: StepInput) -> StepOutput:
        time.sleep(self.delay)
        count_batch(self.count_dir, self.name, len(inputs[0]))
        total = sum(r["n"] for r in inputs[0])
        yield [{**r, "total": total} for r in inputs[0]]


class RecordPid(Step):
    """Adds the worker's pid and CUDA_VISIBLE_DEVICES to each row (tests of replicas and GPUs)."""

    @property
    def outputs(self) -> list[str]:
        return ["pid", "devices"]

    def process(self, *inputs: StepInput) -> StepOutput:
        env: Any = os.environ.get("CUDA_VISIBLE_DEVICES")
        yield [{**r, "pid": os.getpid(), "devices": env} for r in inputs[0]]


class LifecycleLog(Step):
    """Appends ``load <name>`` / ``unload <name>`` lines to ``log_file`` (tests of load stages)."""

    log_file: Annotated[str, Fingerprint.IGNORE] = ""

    def _log(self, event: str) -> None:
        with open(self.log_file, "a") as fh:
            fh.write(f"{event} {self.name} {os.getpid()}\n")

    def load(self) -> None:
        self._log("load")

    def unload(self) -> None:
        self._log("unload")

    def process(self, *inputs: StepInput) -> StepOutput:
        yield inputs[0]
