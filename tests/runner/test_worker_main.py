"""Replicas start from synthgen's entry point with their step sent by value: the README's first example
runs the same from a guarded script, an unguarded one, ``python -c``, ``python -m`` and a Jupyter
notebook, its ``@step`` (and the helper it calls) defined in ``__main__`` or a cell."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from synthgen import Pipeline
from synthgen.errors import StepError
from synthgen.testing.servers.openai import OpenAITestServer
from synthgen.testing.steps import GenerateNumbers

HEADER = '''\
from synthgen import Pipeline, step, StepInput
from synthgen.steps import LoadDataFromDicts, KeepColumns
from synthgen.tasks import TextGeneration
from synthgen.llms import OpenAILLM

print("SCRIPT BODY RAN")

def measure(text):
    return len(text or "")

@step(inputs=["generation"], outputs=["length"])
def Length(inputs: StepInput):
    yield [{**row, "length": measure(row["generation"])} for row in inputs]
'''

# The README's example, with replicas so that more than one worker would re-run an unguarded script.
BODY = '''\
with Pipeline(name="my-pipeline") as pipeline:
    load = LoadDataFromDicts(data=[{"instruction": f"Write a haiku about caching, take {i}."} for i in range(6)])
    generate = TextGeneration(llm=OpenAILLM(model="test-model"), input_batch_size=2)
    load >> generate >> Length(input_batch_size=2, resources={"replicas": 2}) >> KeepColumns(columns=["instruction", "generation", "length"])

distiset = pipeline.run(parameters={generate.name: {"llm": {"generation_kwargs": {"temperature": 0.7}}}})
distiset.save_to_disk("my-dataset")
rows = distiset["default"]["train"].to_list()
print("LENGTHS OK", len(rows), all(r["length"] == len(r["generation"]) > 0 for r in rows))
'''

UNGUARDED = HEADER + "\n" + BODY
GUARDED = HEADER + '\nif __name__ == "__main__":\n' + textwrap.indent(BODY, "    ")


@pytest.fixture
def server() -> Iterator[OpenAITestServer]:
    srv = OpenAITestServer(model="test-model")
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


def user_env(tmp_path: Path, srv: OpenAITestServer) -> dict[str, str]:
    return {**os.environ, "OPENAI_BASE_URL": srv.base_url, "OPENAI_API_KEY": "test-key",
            "SYNTHGEN_CACHE_DIR": str(tmp_path / "cache"), "SYNTHGEN_LOG_LEVEL": "WARNING"}


def run_user(args: list[str], tmp_path: Path, srv: OpenAITestServer) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], cwd=tmp_path, env=user_env(tmp_path, srv), text=True,
                          capture_output=True, timeout=240, check=False)


def assert_ran_once(proc: subprocess.CompletedProcess[str], tmp_path: Path, srv: OpenAITestServer) -> None:
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.count("SCRIPT BODY RAN") == 1, "a worker ran the user's script again"
    assert "LENGTHS OK 6 True" in proc.stdout
    assert srv.counters.requests == 6, "each prompt was sent once"
    assert (tmp_path / "my-dataset").is_dir()


@pytest.mark.parametrize("source", [UNGUARDED, GUARDED], ids=["unguarded", "guarded"])
def test_readme_example_runs_as_a_script(tmp_path: Path, server: OpenAITestServer, source: str) -> None:
    (tmp_path / "example.py").write_text(source)
    assert_ran_once(run_user(["example.py"], tmp_path, server), tmp_path, server)


def test_readme_example_runs_from_python_c(tmp_path: Path, server: OpenAITestServer) -> None:
    assert_ran_once(run_user(["-c", UNGUARDED], tmp_path, server), tmp_path, server)


def test_readme_example_runs_from_python_m(tmp_path: Path, server: OpenAITestServer) -> None:
    package = tmp_path / "myproject"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "generate.py").write_text(UNGUARDED)
    assert_ran_once(run_user(["-m", "myproject.generate"], tmp_path, server), tmp_path, server)


@pytest.mark.ray
@pytest.mark.timeout(300)
def test_readme_example_runs_unguarded_on_ray(tmp_path: Path, server: OpenAITestServer) -> None:
    """Ray actors receive the step by value too (Ray pickles with cloudpickle)."""
    pytest.importorskip("ray", reason="ray is not installed: pip install 'synthgen[ray]'")
    on_ray = UNGUARDED.replace('"temperature": 0.7}}}}', '"temperature": 0.7}}}}, runner="ray", runner_options={"num_cpus": 2}')
    assert on_ray != UNGUARDED
    (tmp_path / "example.py").write_text(on_ray)
    assert_ran_once(run_user(["example.py"], tmp_path, server), tmp_path, server)


def test_readme_example_runs_in_a_notebook(tmp_path: Path, server: OpenAITestServer) -> None:
    import nbformat
    from nbclient import NotebookClient

    setup = "\n".join(f"os.environ[{k!r}] = {v!r}" for k, v in user_env(tmp_path, server).items()
                      if k.startswith(("OPENAI_", "SYNTHGEN_")))
    cells = [f"import os\n{setup}\nos.chdir({str(tmp_path)!r})", HEADER, BODY]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    NotebookClient(notebook, timeout=240, kernel_name="python3").execute()  # a failing cell raises
    printed = "".join(out.get("text", "") for cell in notebook.cells for out in cell.get("outputs", []))
    assert "LENGTHS OK 6 True" in printed
    assert printed.count("SCRIPT BODY RAN") == 1
    assert server.counters.requests == 6


RAISES = '''
from synthgen import Pipeline, step, StepInput
from synthgen.errors import StepError
from synthgen.testing.steps import GenerateNumbers

class TooBig(Exception):
    pass

@step(inputs=["n"], outputs=["n"])
def Check(inputs: StepInput):
    for row in inputs:
        if row["n"] > 5:
            raise TooBig(f"n={row['n']} is too big")
    yield inputs

with Pipeline(name="raises") as pipeline:
    GenerateNumbers(count=10, batch_size=10) >> Check(name="check")
try:
    pipeline.run()
except StepError as err:
    print("CAUGHT", err, "|", isinstance(err.__cause__, TooBig))
'''


def test_an_error_class_from_the_script_reaches_the_driver_as_that_class(tmp_path: Path,
                                                                          server: OpenAITestServer) -> None:
    proc = run_user(["-c", RAISES], tmp_path, server)
    assert "CAUGHT step 'check' failed: TooBig: n=6 is too big | True" in proc.stdout, proc.stderr[-3000:]


GLOBAL_LOCK = '''
import threading
from synthgen import Pipeline, step, StepInput
from synthgen.errors import StepError
from synthgen.testing.steps import GenerateNumbers

LOCK = threading.Lock()

@step(inputs=["n"], outputs=["n"])
def Locked(inputs: StepInput):
    with LOCK:
        yield inputs

with Pipeline(name="locked") as pipeline:
    GenerateNumbers(count=10, batch_size=10) >> Locked(name="locked")
try:
    pipeline.run()
except StepError as err:
    print("CAUGHT", err)
'''


def test_a_live_global_the_step_uses_is_one_clear_error(tmp_path: Path, server: OpenAITestServer) -> None:
    """A script's step takes the globals it names along: a lock (a client, an open file) cannot travel."""
    proc = run_user(["-c", GLOBAL_LOCK], tmp_path, server)
    assert ("CAUGHT step 'locked' failed: it cannot be sent to its worker process (TypeError: cannot pickle "
            "'_thread.lock' object); create live objects (clients, locks, open files) in load(), not in its "
            "fields, its attributes or the globals its code uses") in proc.stdout, proc.stderr[-3000:]


GHOST_STEP = '''
from synthgen.steps.base import Step


class Ghost(Step):
    @property
    def inputs(self):
        return ["n"]

    def process(self, *inputs):
        yield inputs[0]
'''


def test_a_step_module_the_worker_cannot_import_is_one_clear_error(tmp_path: Path) -> None:
    """A module loaded by hand from outside ``sys.path`` is imported by reference, and a worker (which has
    the driver's ``sys.path``) cannot find it: the run says so instead of a replica dying."""
    (tmp_path / "ghost_steps.py").write_text(GHOST_STEP)
    spec = importlib.util.spec_from_file_location("ghost_steps", tmp_path / "ghost_steps.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["ghost_steps"] = module
    try:
        spec.loader.exec_module(module)
        with Pipeline(name="ghost", cache_dir=tmp_path / "cache") as p:
            GenerateNumbers(count=10, batch_size=10) >> module.Ghost(name="ghost")
        with pytest.raises(StepError, match=r"failed: its worker process could not rebuild the step "
                                            r"\(ModuleNotFoundError: No module named 'ghost_steps'\); the modules"):
            p.run()
    finally:
        del sys.modules["ghost_steps"]


def test_serving_threads_share_the_task_pipe_each_task_served_once_and_all_stop() -> None:
    """No reader thread: the serving thread that asks reads the next task; a stop reaches every thread."""
    import pickle
    import threading
    from multiprocessing.connection import Pipe

    from synthgen.runner.worker_main import FREE, ResultOutbox, TaskInbox

    tasks_in, tasks_out = Pipe(duplex=False)
    results_in, results_out = Pipe(duplex=False)
    inbox = TaskInbox(tasks_in, ResultOutbox(results_out))
    served: list[int] = []

    def serve() -> None:
        while (task := inbox.get()) is not None:
            served.append(task)
        inbox.put(None)  # as worker._serve does: the next thread sees the stop too

    threads = [threading.Thread(target=serve) for _ in range(3)]
    for thread in threads:
        thread.start()
    for task in range(20):
        tasks_out.send_bytes(pickle.dumps(task))
    tasks_out.send_bytes(pickle.dumps(None))
    tasks_out.close()
    for thread in threads:
        thread.join(10)
    assert not any(thread.is_alive() for thread in threads), "every serving thread stopped"
    assert sorted(served) == list(range(20))
    frees = 0
    while results_in.poll():
        frees += results_in.recv_bytes() == FREE
    assert frees >= 20 + 3, "each get() told the parent one more thread is free"
