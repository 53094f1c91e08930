"""Both example plugins together through the CLI: `python -m synthgen pipeline=reverse llm=echo`.

The step (reverse_text), the backend (echo) and both config options (pipeline=reverse, llm=echo) come
from the installed example packages, found through their entry points.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from synthgen.distiset import Distiset

INSTRUCTIONS = ["Name a prime number.", "Spell synthgen backwards.", "Say hello."]


@pytest.mark.slow
def test_cli_runs_a_pipeline_through_both_example_plugins(example_plugins: dict[str, Path], tmp_path: Path) -> None:
    env = {**os.environ, "SYNTHGEN_CACHE_DIR": str(tmp_path / "cache")}
    out = tmp_path / "distiset"
    result = subprocess.run(
        [sys.executable, "-m", "synthgen", "pipeline=reverse", "llm=echo", f"save_dir={out}",
         f"hydra.run.dir={tmp_path / 'run'}"],
        capture_output=True, text=True, timeout=240, cwd=tmp_path, env=env,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert str(out) in result.stdout

    (dataset,) = Distiset.load_from_disk(out).values()
    rows = sorted(dataset["train"].to_list(), key=lambda r: r["instruction"])
    assert [r["instruction"] for r in rows] == sorted(INSTRUCTIONS)
    # echo answers with the instruction; reverse_text writes it backwards.
    assert all(r["generation"] == r["instruction"] for r in rows)
    assert all(r["reversed"] == r["instruction"][::-1] for r in rows)
