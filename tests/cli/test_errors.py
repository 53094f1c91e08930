"""Each user error is one clear message on stderr, no traceback, a non-zero exit, and no LLM request."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from synthgen.testing.servers.openai import OpenAITestServer
from tests.cli.conftest import RunCli, server_llm

TG = ["pipeline=text_generation", "num_rows=2"]

# Errors of the command line itself: one line, exit code 2.
USAGE_CASES = [
    ("unknown config group option", ["llm=zzz"], "error: unknown llm 'zzz' Options: anthropic, echo, fake, llamacpp, "
                                                 "llamacpp_gemma, openai, openai_compatible, vllm"),
    ("unknown pipeline option", ["pipeline=ultrafeedbak"],
     "error: unknown pipeline 'ultrafeedbak' — did you mean 'ultrafeedback'? Options: embedding_dedup, evol_instruct,"),
    ("typo in a key", [*TG, "llm.modle=x"], "error: unknown key 'modle' in 'llm' — did you mean 'model'? Keys: api_key,"),
    ("typo in a generation parameter", [*TG, "llm.generation_kwargs.temprature=0.3"],
     "error: unknown key 'temprature' in 'llm.generation_kwargs' — did you mean 'temperature'?"),
    ("typo in a top-level key", [*TG, "num_rowz=3"], "error: unknown key 'num_rowz' in the top-level config — did you mean 'num_rows'?"),
    ("wrong type", [*TG, "num_rows=many"],
     "error: invalid value for 'num_rows': Value 'many' of type 'str' could not be converted to Integer"),
    ("bad override syntax", [*TG, "llm.model=[unclosed"],
     "error: cannot parse override 'llm.model=[unclosed' (no viable alternative at input '[unclosed')"),
    ("a subcommand after python -m synthgen", ["plugins"],
     "error: 'plugins' is a command of the synthgen script, not an override: run `synthgen plugins ...`"),
    ("a typo in a swept group", ["-m", *TG, "llm=fake,opna"], "error: unknown llm 'opna' — did you mean 'openai'?"),
    ("a bad value later in a sweep", ["-m", "pipeline=text_generation", "num_rows=1,many"],
     "error: invalid value for 'num_rows': Value 'many' of type 'str' could not be converted to Integer"),
]


@pytest.mark.parametrize(("case", "args", "expected"), USAGE_CASES, ids=[c[0] for c in USAGE_CASES])
def test_command_line_errors_are_one_line_with_exit_code_2(run_cli: RunCli, server: OpenAITestServer, case: str,
                                                           args: list[str], expected: str) -> None:
    done = run_cli("synthgen", *server_llm(server), *args)
    assert done.returncode == 2, done.stderr
    [line] = done.stderr.strip().splitlines()
    assert line.startswith(expected), line
    assert server.counters.requests == 0


HYDRA_CASES = [
    ("unknown step type", [*TG, "pipeline.steps.generate.type=text_generaton"],
     "error: unknown step type 'text_generaton' — did you mean 'text_generation'?"),
    ("a generation parameter added with +", [*TG, "+llm.generation_kwargs.temprature=0.3"],
     "unknown generation parameter 'temprature' — did you mean 'temperature'? Accepted:"),
    ("unknown llm backend", [*TG, "llm.type=opnai"], "error: unknown LLM backend 'opnai' — did you mean 'openai'?"),
    ("missing required parameter", [*TG, "~pipeline.steps.generate.llm"],
     "error: step 'generate' (text_generation): missing required parameter 'llm'"),
    ("unknown step parameter", [*TG, "pipeline.steps.generate.num_generatons=2"],
     "error: step 'generate' (text_generation): unknown parameter 'num_generatons' — did you mean 'num_generations'?"),
    ("missing column", [*TG, "~pipeline.steps.load", "+pipeline.steps.load={type: load_data_from_dicts, data: [{prompt: x}]}"],
     "error: step 'generate' needs input column(s) 'instruction' that no upstream step produces"),
]


@pytest.mark.parametrize(("case", "args", "expected"), HYDRA_CASES, ids=[c[0] for c in HYDRA_CASES])
def test_hydra_front_door_errors(run_cli: RunCli, server: OpenAITestServer, case: str, args: list[str],
                                 expected: str) -> None:
    done = run_cli("synthgen", *server_llm(server), *args)
    assert done.returncode != 0
    assert expected in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    assert server.counters.requests == 0


def write_pipeline(path: Path, steps: dict, connections: list) -> Path:
    path.write_text(yaml.safe_dump({"pipeline": {"name": "bad", "steps": steps, "connections": connections}}))
    return path


def llm(server: OpenAITestServer) -> dict:
    return {"type": "openai", "model": "test-model", "base_url": server.base_url}


@pytest.fixture
def cyclic(tmp_path: Path, server: OpenAITestServer) -> Path:
    steps = {"load": {"type": "load_data_from_dicts", "data": [{"instruction": "x"}]},
             "a": {"type": "text_generation", "llm": llm(server)},
             "b": {"type": "keep_columns", "columns": ["instruction"]}}
    edges = [{"from": "load", "to": "a"}, {"from": "a", "to": "b"}, {"from": "b", "to": "a"}]
    return write_pipeline(tmp_path / "cyclic.yaml", steps, edges)


@pytest.fixture
def missing_column(tmp_path: Path, server: OpenAITestServer) -> Path:
    steps = {"load": {"type": "load_data_from_dicts", "data": [{"prompt": "x"}]},
             "gen": {"type": "text_generation", "llm": llm(server)}}
    return write_pipeline(tmp_path / "missing.yaml", steps, [{"from": "load", "to": "gen"}])


@pytest.mark.parametrize(
    ("config", "extra", "expected", "code"),
    [
        ("cyclic", [], "error: the pipeline has a cycle through steps a, b", 1),
        ("missing_column", [], "error: step 'gen' needs input column(s) 'instruction' that no upstream step produces", 1),
        # A wrong command line is a usage error: exit code 2.
        ("missing_column", ["--param", "gen.temperature"], "error: bad --param 'gen.temperature'", 2),
        ("missing_column", ["--param", "gne.x=1"], "error: --param 'gne.x=1' names unknown step 'gne'", 2),
    ],
)
def test_pipeline_yaml_errors(run_cli: RunCli, server: OpenAITestServer, request: pytest.FixtureRequest,
                              config: str, extra: list[str], expected: str, code: int) -> None:
    path = request.getfixturevalue(config)
    done = run_cli("synthgen.cli.main", "pipeline", "run", "--config", str(path), *extra)
    assert done.returncode == code
    assert expected in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    assert server.counters.requests == 0


def test_missing_config_file(run_cli: RunCli) -> None:
    done = run_cli("synthgen.cli.main", "pipeline", "info", "--config", "nope.yaml")
    assert done.returncode == 1
    assert "error: pipeline config 'nope.yaml' does not exist" in done.stderr


def test_debug_shows_the_traceback(run_cli: RunCli) -> None:
    done = run_cli("synthgen", "pipeline=text_generation", "llm=fake", "llm.type=fak", SYNTHGEN_DEBUG="1")
    assert done.returncode != 0
    assert "Traceback" in done.stderr and "RegistryError" in done.stderr


@pytest.fixture
def my_conf(tmp_path: Path) -> Path:
    """A config folder of the user's, with a working and a broken pipeline option."""
    folder = tmp_path / "my_conf" / "pipeline"
    folder.mkdir(parents=True)
    source = Path(__file__).parents[2] / "conf" / "pipeline" / "text_generation.yaml"
    (folder / "mine.yaml").write_text(source.read_text())
    (folder / "broken.yaml").write_text("defaults:\n  - base_pipeline\n  - _self_\nname: [broken\n")
    return folder.parent


def test_a_users_search_path_options_are_known_to_the_check(run_cli: RunCli, my_conf: Path) -> None:
    searchpath = f"hydra.searchpath=[file://{my_conf}]"
    done = run_cli("synthgen", "pipeline=mine", "llm=fake", "num_rows=1", searchpath)
    assert done.returncode == 0, done.stderr
    typo = run_cli("synthgen", "pipeline=minee", "llm=fake", searchpath)
    assert typo.returncode == 2 and "unknown pipeline 'minee' — did you mean 'mine'?" in typo.stderr


def test_a_config_file_that_is_not_yaml_names_file_line_and_column(run_cli: RunCli, my_conf: Path) -> None:
    done = run_cli("synthgen", "pipeline=broken", "llm=fake", f"hydra.searchpath=[file://{my_conf}]")
    assert done.returncode == 1
    assert done.stderr.strip() == (f"error: {my_conf}/pipeline/broken.yaml:5:1: invalid YAML: while parsing a flow "
                                   "sequence expected ',' or ']', but got '<stream end>'")
