"""End to end through the command line: run, record, rerun from the cache, sweep with a shared cache."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from synthgen.testing.servers.openai import OpenAITestServer
from tests.cli.conftest import RunCli, server_llm


def only(paths: list[Path]) -> Path:
    assert len(paths) == 1, paths
    return paths[0]


def test_run_records_pipeline_yaml_and_reruns_from_the_cache(run_cli: RunCli, server: OpenAITestServer,
                                                             tmp_path: Path) -> None:
    done = run_cli("synthgen.cli.main", "run", "pipeline=text_generation", *server_llm(server), "num_rows=3")
    assert done.returncode == 0, done.stderr
    assert "dataset saved to" in done.stdout and "default: 3 rows" in done.stdout
    assert server.counters.requests == 3
    out = only(list(tmp_path.glob("outputs/*/*")))
    assert (out / "distiset").is_dir()
    recorded = yaml.safe_load((out / "pipeline.yaml").read_text())
    assert recorded["pipeline"]["steps"]["generate"]["llm"]["base_url"] == server.base_url

    again = run_cli("synthgen.cli.main", "pipeline", "run", "--config", str(out / "pipeline.yaml"),
                    "--output-dir", "rerun")
    assert again.returncode == 0, again.stderr
    assert server.counters.requests == 3, "a finished pipeline must come from the cache"
    assert (tmp_path / "rerun" / "distiset").is_dir()

    changed = run_cli("synthgen.cli.main", "pipeline", "run", "--config", str(out / "pipeline.yaml"),
                      "--output-dir", "changed", "--param", "generate.llm.generation_kwargs.temperature=0.1")
    assert changed.returncode == 0, changed.stderr
    assert server.counters.requests == 6
    changed_yaml = yaml.safe_load((tmp_path / "changed" / "pipeline.yaml").read_text())
    assert changed_yaml["pipeline"]["steps"]["generate"]["llm"]["generation_kwargs"]["temperature"] == 0.1


def test_multirun_jobs_get_their_own_folders_and_share_the_cache(run_cli: RunCli, server: OpenAITestServer,
                                                                 tmp_path: Path) -> None:
    args = ["-m", "pipeline=text_generation", *server_llm(server), "num_rows=2"]
    done = run_cli("synthgen", *args, "llm.generation_kwargs.temperature=0.2,0.8")
    assert done.returncode == 0, done.stderr
    jobs = sorted(tmp_path.glob("multirun/*/*/[0-9]*"))
    assert [j.name for j in jobs] == ["0", "1"]
    assert all((j / "distiset").is_dir() and (j / "pipeline.yaml").is_file() for j in jobs)
    assert server.counters.requests == 4

    # 0.2 was computed by the first sweep: only the 0.5 job sends requests.
    done = run_cli("synthgen", *args, "llm.generation_kwargs.temperature=0.2,0.5")
    assert done.returncode == 0, done.stderr
    assert server.counters.requests == 6


@pytest.mark.parametrize("pipeline", ["text_generation", "ultrafeedback", "self_instruct", "evol_instruct"])
def test_every_builtin_pipeline_runs_on_the_fake_llm(run_cli: RunCli, pipeline: str) -> None:
    done = run_cli("synthgen", f"pipeline={pipeline}", "llm=fake", "num_rows=2")
    assert done.returncode == 0, done.stderr
    assert "dataset saved to" in done.stdout
    if pipeline == "ultrafeedback":
        assert "dpo: 2 rows" in done.stdout and "rated: 2 rows" in done.stdout and "ratings:" in done.stdout
