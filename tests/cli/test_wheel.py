"""The built wheel carries conf/ and the seed data: a pipeline runs from an installed copy elsewhere."""

from __future__ import annotations

import os
import site
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_installed_wheel_runs_a_pipeline_from_another_folder(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(wheels), str(ROOT)],
                   check=True, capture_output=True, timeout=600)
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             check=True, capture_output=True, text=True).stdout.strip()
    # Dependencies come from the test environment, appended after the venv's own site-packages; its
    # .pth files (the editable checkout) are not processed, so `synthgen` resolves to the wheel.
    Path(purelib, "deps.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps",
                    str(next(wheels.glob("*.whl")))], check=True, capture_output=True, timeout=300)
    workdir = tmp_path / "elsewhere"
    workdir.mkdir()
    # The example plugins are installed editable (a .pth this venv does not read): leave them out.
    env = {**os.environ, "SYNTHGEN_CACHE_DIR": str(tmp_path / "cache"), "PYTHONPATH": "",
           "SYNTHGEN_DISABLE_PLUGINS": "reverse,echo_llm"}
    done = subprocess.run([str(python), "-m", "synthgen", "pipeline=text_generation", "llm=fake", "num_rows=2"],
                          cwd=workdir, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "default: 2 rows" in done.stdout
    where = subprocess.run([str(python), "-c", "import synthgen; print(synthgen.__file__)"],
                           capture_output=True, text=True, check=True).stdout
    assert str(ROOT / "src") not in where
