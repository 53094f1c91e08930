"""``--help`` and ``synthgen plugins`` must not import the heavy backends."""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ("torch", "vllm", "ray", "openai", "anthropic", "llama_cpp")

PROBE = """
import sys
sys.argv = {argv!r}
try:
    {call}
except SystemExit:
    pass
heavy = sorted(m for m in {heavy!r} if m in sys.modules)
print("HEAVY=" + ",".join(heavy), file=sys.stderr)
"""


@pytest.mark.parametrize(
    ("argv", "call"),
    [
        (["python -m synthgen", "--help"], "from synthgen.__main__ import main; main()"),
        (["synthgen", "plugins"], "from synthgen.cli.main import main; main()"),
        (["synthgen", "--help"], "from synthgen.cli.main import main; main()"),
    ],
    ids=["python -m synthgen --help", "synthgen plugins", "synthgen --help"],
)
def test_start_up_does_not_import_heavy_backends(argv: list[str], call: str) -> None:
    code = PROBE.format(argv=argv, call=call, heavy=HEAVY)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert "HEAVY=" in done.stderr, done.stderr
    assert done.stderr.strip().splitlines()[-1] == "HEAVY=", done.stderr
    assert done.stdout.strip(), "the command printed nothing"
