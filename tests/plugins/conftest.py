"""Fixtures for plugin tests: a fresh plugin manager per test and an installable probe plugin."""

from __future__ import annotations

import json
import os
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from synthgen.plugins import reset_plugin_manager

PROBE_MODULE = '''
"""A plugin that records every lifecycle hook call, with the process id, to $SYNTHGEN_PROBE_LOG."""
import json
import os

from synthgen.plugins import hookimpl
from synthgen.runner.local import LocalExecutor
from synthgen.steps import Step


class ProbeStep(Step):
    @property
    def outputs(self):
        return ["probed"]

    def process(self, *inputs):
        yield [{**row, "probed": True} for row in inputs[0]]


class FailingStep(Step):
    def process(self, *inputs):
        raise RuntimeError("probe failure")
        yield []


def _record(event, **fields):
    with open(os.environ["SYNTHGEN_PROBE_LOG"], "a") as fh:
        fh.write(json.dumps({"event": event, "pid": os.getpid(), **fields}) + "\\n")


@hookimpl
def synthgen_register_steps(register):
    register.add_step(ProbeStep)


class ProbeExecutor(LocalExecutor):
    """Replicas as local processes, recording each step it starts."""

    def __init__(self, store_root, log_level, tag=""):
        super().__init__(store_root, log_level)
        self.tag = tag

    def start(self, step, gpu_ids):
        _record("executor_started", step=step.name, tag=self.tag)
        super().start(step, gpu_ids)


@hookimpl
def synthgen_register_executors(register):
    register.add_executor("probe_local", "synthgen_probe:ProbeExecutor", options=("tag",))


@hookimpl
def synthgen_before_pipeline_run(pipeline):
    _record("before_pipeline_run", pipeline=pipeline.name)


@hookimpl
def synthgen_after_pipeline_run(pipeline, distiset):
    _record("after_pipeline_run", pipeline=pipeline.name, leaves=sorted(distiset))


@hookimpl
def synthgen_before_step_started(step):
    _record("before_step_started", step=step.name)


@hookimpl
def synthgen_after_batch_written(step, batch):
    _record("after_batch_written", step=step.name)


@hookimpl
def synthgen_on_step_error(step, error):
    _record("on_step_error", step=step.name, error=str(error))
'''


@pytest.fixture(autouse=True)
def fresh_plugin_manager() -> Iterator[None]:
    """Each test builds its own manager and registry, and leaves none behind."""
    reset_plugin_manager()
    yield
    reset_plugin_manager()


class Probe:
    """The probe plugin's install folder and its log of hook calls."""

    def __init__(self, root: Path, log: Path) -> None:
        self.root = root
        self.log = log

    def events(self) -> list[dict[str, object]]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines()]


@pytest.fixture
def probe(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Probe]:
    """Install ``synthgen_probe`` as an entry-point plugin named ``probe`` (for this and child processes)."""
    root = tmp_path / "site"
    dist = root / "synthgen_probe-0.1.0.dist-info"
    dist.mkdir(parents=True)
    (root / "synthgen_probe.py").write_text(PROBE_MODULE)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: synthgen-probe\nVersion: 0.1.0\n")
    (dist / "entry_points.txt").write_text(textwrap.dedent("""
        [synthgen]
        probe = synthgen_probe
    """))
    log = tmp_path / "probe.jsonl"
    monkeypatch.syspath_prepend(str(root))
    # Spawned workers and subprocesses find the plugin through the environment, like an installed one.
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in (str(root), os.environ.get("PYTHONPATH")) if p))
    monkeypatch.setenv("SYNTHGEN_PROBE_LOG", str(log))
    yield Probe(root, log)
    sys.modules.pop("synthgen_probe", None)  # the next test's probe lives in another folder


REPO = Path(__file__).resolve().parents[2]
EXAMPLES = {"synthgen-reverse": "synthgen_reverse", "synthgen-echo-llm": "synthgen_echo_llm"}


@pytest.fixture(scope="session")
def example_plugins() -> dict[str, Path]:
    """The example plugin packages, installed into this environment (``make test`` installs them too)."""
    import importlib.metadata
    import subprocess

    missing = []
    for dist in EXAMPLES:
        try:
            importlib.metadata.distribution(dist)
        except importlib.metadata.PackageNotFoundError:
            missing.append(dist)
    if missing:
        args = [arg for dist in missing for arg in ("-e", str(REPO / "plugins" / dist))]
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", *args], check=True, timeout=300)
        importlib.invalidate_caches()
    return {dist: REPO / "plugins" / dist for dist in EXAMPLES}
