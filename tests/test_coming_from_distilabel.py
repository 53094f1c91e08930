"""docs/coming_from_distilabel.md: the synthgen script is the distilabel one with only its imports
changed, and it runs, as it is written there, against the OpenAI-compatible test server."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from synthgen.testing.servers.openai import OpenAITestServer

ROOT = Path(__file__).parents[1]
PAGE = ROOT / "docs" / "coming_from_distilabel.md"


def _script(marker: str) -> str:
    match = re.search(rf"<!-- {marker} -->\n(?:<!--[^\n]*-->\n)?```python\n(.*?)```", PAGE.read_text(), re.DOTALL)
    assert match, f"{PAGE} has no ```python block after <!-- {marker} -->"
    return match.group(1)


def _without_imports(script: str) -> list[str]:
    return [line for line in script.splitlines() if not line.startswith(("from ", "import "))]


def test_only_the_imports_differ() -> None:
    distilabel, synthgen = _script("distilabel-script"), _script("synthgen-script")
    assert _without_imports(distilabel) == _without_imports(synthgen)
    assert all("distilabel" not in line for line in synthgen.splitlines())
    assert distilabel != synthgen


def test_the_synthgen_script_runs(tmp_path: Path) -> None:
    script = tmp_path / "script.py"
    script.write_text(_script("synthgen-script"))
    with OpenAITestServer() as server:
        path = os.pathsep.join(p for p in (os.environ.get("PYTHONPATH"), str(ROOT / "src")) if p)
        env = {**os.environ, "PYTHONPATH": path, "OPENAI_BASE_URL": server.base_url, "OPENAI_API_KEY": "sk-test",
               "SYNTHGEN_CACHE_DIR": str(tmp_path / "cache"), "SYNTHGEN_LOG_LEVEL": "WARNING"}
        done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True,
                              timeout=300)
        assert done.returncode == 0, done.stderr[-3000:]
        assert "4 rows; each answered by 2 models" in done.stdout
        # 4 questions, 4 x 2 answers, 4 judgements; a second run answers everything from the cache
        assert server.counters.answered == 4 + 8 + 4
        again = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True,
                               text=True, timeout=300)
        assert again.returncode == 0 and server.counters.answered == 16
