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


_IMPORTS = """
import json, sys
import synthgen, synthgen.cli.main, synthgen.config.hydra_app, synthgen.runner.run, synthgen.distiset
import synthgen.steps, synthgen.tasks.ultrafeedback, synthgen.llms.openai, synthgen.llms.anthropic
print(json.dumps(sorted({name.split(".")[0] for name in sys.modules})))
"""


# Imported when present, not needed: they come from the environment, not from a dependency of ours.
_OPTIONAL = {"attr": "omegaconf uses attrs only if installed", "sniffio": "httpcore uses it only if installed",
             "_distutils_hack": "setuptools' .pth hook"}


def _requirement_closure(dist: str, extras: frozenset[str] = frozenset()) -> set[str]:
    """``dist`` and everything its requirements (with ``extras``) pull in, as normalised names."""
    from importlib import metadata

    from packaging.requirements import Requirement

    def norm(name: str) -> str:
        return name.lower().replace("_", "-").replace(".", "-")

    seen: set[str] = set()
    todo = [(dist, extras)]
    while todo:
        name, wanted = todo.pop()
        if norm(name) in seen:
            continue
        seen.add(norm(name))
        for text in metadata.requires(name) or []:
            req = Requirement(text)
            if req.marker is None or any(req.marker.evaluate({"extra": e}) for e in (wanted or {""})):
                try:
                    metadata.distribution(req.name)
                except metadata.PackageNotFoundError:
                    continue
                todo.append((req.name, frozenset(req.extras)))
    return seen


def test_the_core_imports_only_declared_dependencies() -> None:
    """`pip install synthgen` must give an importable package: every third-party module that the core,
    the CLI and the API backends' modules import belongs to a declared (non-dev) dependency."""
    import json
    from importlib import metadata

    imported = json.loads(subprocess.run([sys.executable, "-c", _IMPORTS], check=True, capture_output=True,
                                         text=True).stdout)
    declared = _requirement_closure("synthgen")  # no extras: the SDKs are imported lazily
    owners = metadata.packages_distributions()
    undeclared = {module: owners[module] for module in imported if module in owners and module not in _OPTIONAL
                  and not any(d.lower().replace("_", "-") in declared for d in owners[module])}
    assert undeclared == {}, f"imported but not declared in [project] dependencies: {undeclared}"
