"""Every fenced Python and Bash example in README.md and docs/*.md runs, against the test servers.

The examples run as a reader would run them: each Python block as a script, each Bash block with
``bash -e``, in order, in one folder per document (so a later block sees what an earlier one made), with
``OPENAI_BASE_URL``/``ANTHROPIC_BASE_URL`` pointing at synthgen's test servers: the model names and
``base_url=None`` of the examples stay as written. What cannot run here says so in the document itself,
in an HTML comment just before the fence:

- ``<!-- no-run: why -->`` skips the block (the reason shows in the test report);
- ``<!-- expect-exit: N ... -->`` expects a Bash block to end with exit code N;
- ``<!-- examples-prelude: code -->`` (anywhere in the document) runs before each of its Python blocks.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from synthgen.testing.replies import shaped_reply
from synthgen.testing.servers import AnthropicTestServer, OpenAITestServer

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
RUNNABLE = ("python", "bash")
_FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)
_MARK = re.compile(r"<!--\s*(no-run|expect-exit):\s*(.*?)\s*-->\s*$")
_PRELUDE = re.compile(r"<!--\s*examples-prelude:\s*(.*?)\s*-->")
# Placeholders a reader replaces with their own: here, what the blocks before them made.
PLACEHOLDERS = {
    "path/to/pipeline.yaml": "$(ls outputs/*/*/pipeline.yaml | head -n 1)",
    "<pipeline name>": "ultrafeedback",
}


@dataclass(frozen=True)
class Example:
    doc: Path
    line: int
    language: str
    code: str
    mark: tuple[str, str] | None

    @property
    def id(self) -> str:
        return f"{self.doc.name}:{self.line}"


def examples(doc: Path) -> list[Example]:
    """The runnable fenced blocks of ``doc``, with the mark of the comment just before each."""
    text = doc.read_text()
    found = []
    for match in _FENCE.finditer(text):
        if match.group(1) not in RUNNABLE:
            continue
        before = text[:match.start()].rstrip("\n").rsplit("\n", 1)[-1]
        mark = _MARK.search(before)
        found.append(Example(doc, text[:match.start()].count("\n") + 1, match.group(1), match.group(2),
                             (mark.group(1), mark.group(2)) if mark else None))
    return found


ALL = [example for doc in DOCS for example in examples(doc)]


def test_the_documents_have_examples_to_run() -> None:
    runnable = [e for e in ALL if e.mark is None or e.mark[0] != "no-run"]
    assert len(ALL) >= 20 and len(runnable) >= 15, [e.id for e in ALL]


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[OpenAITestServer, AnthropicTestServer]]:
    with OpenAITestServer(reply_fn=shaped_reply) as openai, AnthropicTestServer(reply_fn=shaped_reply) as anthropic:
        for server in (openai, anthropic):
            server.batches.completion_delay = 3600  # batch jobs take their time, as docs/offline_batch.md says
        yield openai, anthropic  # type: ignore[misc]


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> dict[Path, Path]:
    """One working folder per document, shared by its blocks in order."""
    return {doc: tmp_path_factory.mktemp(doc.stem) for doc in DOCS}


def environment(servers: tuple[OpenAITestServer, AnthropicTestServer], folder: Path) -> dict[str, str]:
    openai, anthropic = servers
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    return {**os.environ, "PATH": path, "OPENAI_BASE_URL": openai.base_url, "OPENAI_API_KEY": "sk-docs",
            "ANTHROPIC_BASE_URL": anthropic.url, "ANTHROPIC_API_KEY": "sk-ant-docs", "SYNTHGEN_DEBUG": "",
            "SYNTHGEN_CACHE_DIR": str(folder / "cache"), "SYNTHGEN_LOG_LEVEL": "WARNING"}


def script(example: Example, folder: Path) -> list[str]:
    """The command that runs ``example`` as a reader would (a script file, or ``bash -e``)."""
    code = example.code
    if example.language == "python":
        prelude = _PRELUDE.search(example.doc.read_text())
        path = folder / f"example_{example.line}.py"
        path.write_text((prelude.group(1) + "\n" if prelude else "") + code)
        return [sys.executable, path.name]
    for placeholder, value in PLACEHOLDERS.items():
        code = code.replace(placeholder, value)
    path = folder / f"example_{example.line}.sh"
    path.write_text("set -euo pipefail\n" + code)
    return ["bash", path.name]


# Known failures, each with the issue that fixes it; strict, so the fix makes its entry fail until removed.
KNOWN_FAILURES: dict[str, str] = {}  # "doc:line" -> why it fails; an entry must go when the example runs


def _cases() -> list[object]:
    return [pytest.param(e, id=e.id, marks=pytest.mark.xfail(reason=KNOWN_FAILURES[e.id], strict=True))
            if e.id in KNOWN_FAILURES else pytest.param(e, id=e.id) for e in ALL]


@pytest.mark.parametrize("example", _cases())
def test_example_runs(example: Example, servers: tuple[OpenAITestServer, AnthropicTestServer],
                      folders: dict[Path, Path]) -> None:
    if example.mark and example.mark[0] == "no-run":
        pytest.skip(f"marked no-run in the document: {example.mark[1]}")
    folder = folders[example.doc]
    expected = int(example.mark[1].split()[0]) if example.mark and example.mark[0] == "expect-exit" else 0
    done = subprocess.run(script(example, folder), cwd=folder, env=environment(servers, folder),
                          capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == expected, (f"{example.id} exited {done.returncode}, expected {expected}:\n"
                                         f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    assert "Traceback" not in done.stderr, f"{example.id}:\n{done.stderr[-3000:]}"
