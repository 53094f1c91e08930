"""``synthgen pipeline info`` and ``draw`` on a recorded pipeline.yaml (no run needed)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from synthgen import Pipeline
from synthgen.steps.loaders import LoadDataFromDicts
from synthgen.tasks.text_generation import TextGeneration
from synthgen.testing.fake_llm import FakeLLM
from tests.cli.conftest import RunCli


@pytest.fixture
def recorded(tmp_path: Path) -> Path:
    # The CLI runs use tmp_path/cache (run_cli): save() stores the inline rows there, which pipeline.yaml
    # names by hash.
    with Pipeline(name="demo", cache_dir=tmp_path / "cache") as pipeline:
        LoadDataFromDicts(name="load", data=[{"instruction": "hi"}]) >> TextGeneration(name="gen", llm=FakeLLM())
    path = tmp_path / "pipeline.yaml"
    pipeline.save(path)
    return path


def test_run_config_without_the_inline_rows_in_the_cache_is_a_clear_error(run_cli: RunCli, tmp_path: Path) -> None:
    with Pipeline(name="demo") as pipeline:
        LoadDataFromDicts(name="load", data=[{"instruction": "hi"}]) >> TextGeneration(name="gen", llm=FakeLLM())
    (tmp_path / "elsewhere.yaml").write_text(yaml.safe_dump(pipeline.dump()))
    ran = run_cli("synthgen.cli.main", "pipeline", "run", "--config", "elsewhere.yaml", "--output-dir", "out")
    assert ran.returncode != 0
    assert "step 'load' refers to inline rows" in ran.stderr and "no longer has" in ran.stderr, ran.stderr


def test_info_lists_steps_connections_stages_and_runtime_parameters(run_cli: RunCli, recorded: Path) -> None:
    done = run_cli("synthgen.cli.main", "pipeline", "info", "--config", str(recorded))
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "gen (text_generation)" in out and "load (load_data_from_dicts)" in out
    assert "load -> gen" in out and "0: load, gen" in out
    assert "llm.generation_kwargs" in out and "input_batch_size" in out


def test_draw_writes_mermaid_to_stdout_and_file(run_cli: RunCli, recorded: Path, tmp_path: Path) -> None:
    done = run_cli("synthgen.cli.main", "pipeline", "draw", "--config", str(recorded))
    assert done.stdout.startswith("flowchart TD") and "s_load --> s_gen" in done.stdout
    done = run_cli("synthgen.cli.main", "pipeline", "draw", "--config", str(recorded), "--output", "dag.mmd")
    assert done.returncode == 0 and (tmp_path / "dag.mmd").read_text().startswith("flowchart TD")


@pytest.mark.skipif(shutil.which("dot") is not None, reason="graphviz is installed, so PNG output works")
def test_png_without_graphviz_is_a_clear_error(run_cli: RunCli, recorded: Path) -> None:
    done = run_cli("synthgen.cli.main", "pipeline", "draw", "--config", str(recorded), "--output", "dag.png")
    assert done.returncode == 1
    assert "error: cannot write dag.png: PNG/SVG output needs graphviz's `dot`" in done.stderr


def test_cache_ls_lists_a_finished_pipeline(run_cli: RunCli) -> None:
    assert run_cli("synthgen", "pipeline=text_generation", "llm=fake", "num_rows=2").returncode == 0
    done = run_cli("synthgen.cli.main", "cache", "ls")
    assert done.returncode == 0, done.stderr
    assert "text_generation" in done.stdout


def test_info_shows_each_steps_cache_status(run_cli: RunCli, recorded: Path, tmp_path: Path) -> None:
    before = run_cli("synthgen.cli.main", "pipeline", "info", "--config", str(recorded))
    assert "gen (text_generation)  [not run yet]" in before.stdout, before.stdout + before.stderr
    ran = run_cli("synthgen.cli.main", "pipeline", "run", "--config", str(recorded), "--output-dir", "out")
    assert ran.returncode == 0, ran.stderr
    after = run_cli("synthgen.cli.main", "pipeline", "info", "--config", str(recorded))
    assert "gen (text_generation)  [cached: the finished run is returned as it is]" in after.stdout
    changed = run_cli("synthgen.cli.main", "pipeline", "info", "--config", str(recorded),
                      "--param", "gen.llm.generation_kwargs.temperature=0.5")
    assert "load (load_data_from_dicts)  [cached: 1 rows]" in changed.stdout, changed.stdout
    assert "gen (text_generation)  [changed (parameters or version): reruns]" in changed.stdout


def test_info_agrees_with_the_run_after_a_sweep_went_back_to_earlier_parameters(run_cli: RunCli, recorded: Path) -> None:
    def run(*param: str) -> str:
        done = run_cli("synthgen.cli.main", "pipeline", "run", "--config", str(recorded), "--output-dir", "out",
                       *param, SYNTHGEN_LOG_LEVEL="INFO")
        assert done.returncode == 0, done.stderr
        return done.stderr

    run()
    run("--param", "gen.llm.generation_kwargs.temperature=0.5")  # the last run now had other parameters
    info = run_cli("synthgen.cli.main", "pipeline", "info", "--config", str(recorded)).stdout
    # Each parameterization keeps its own folder: the first one's finished run is still there.
    assert "gen (text_generation)  [cached: the finished run is returned as it is]" in info, info
    assert "loaded from cache" in run(), "the run returns it from the cache too"
