"""Multirun sweeps on real Hydra launchers: jobs run at the same time over one cache and pay each
request once (joblib runs jobs in loky worker processes; submitit_local runs them as separate
processes, the way submitit_slurm does on a cluster)."""

from __future__ import annotations

from pathlib import Path

import pytest

from synthgen.distiset import Distiset
from synthgen.testing.servers.openai import OpenAITestServer
from tests.cli.conftest import RunCli, server_llm

LAUNCHERS = {
    "joblib": ["hydra/launcher=joblib", "hydra.launcher.n_jobs=3"],
    "submitit_local": ["hydra/launcher=submitit_local", "hydra.launcher.timeout_min=10"],
}


@pytest.mark.slow
@pytest.mark.parametrize("launcher", sorted(LAUNCHERS))
def test_a_sweep_of_three_jobs_at_once_pays_each_request_once(run_cli: RunCli, server: OpenAITestServer,
                                                              tmp_path: Path, launcher: str) -> None:
    pytest.importorskip(f"hydra_plugins.hydra_{launcher.split('_')[0]}_launcher",
                        reason=f"the {launcher} launcher is in the dev extra: pip install -e '.[dev]'")
    server.latency = 0.05  # jobs overlap for real
    done = run_cli("synthgen", "-m", *LAUNCHERS[launcher], "pipeline=text_generation", *server_llm(server),
                   "num_rows=10,20,30", timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    datasets = sorted(tmp_path.glob("multirun/*/*/[0-9]*/distiset/*/dataset_dict.json"))
    assert len(datasets) == 3, done.stdout[-2000:]
    lengths = sorted(len(Distiset.load_from_disk(d.parents[1])["default"]["train"]) for d in datasets)
    assert lengths == [10, 20, 30]
    assert server.counters.requests == 30 and server.counters.duplicates == 0
