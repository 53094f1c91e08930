"""``synthgen cache clear`` with no name asks first, says what paid work it deletes, and never deletes
unasked when there is no terminal to ask on."""

from __future__ import annotations

from pathlib import Path

import pytest

from synthgen.cli import main as cli
from synthgen.testing.servers.openai import OpenAITestServer
from tests.cli.conftest import RunCli, server_llm


@pytest.fixture
def filled(run_cli: RunCli, server: OpenAITestServer, tmp_path: Path) -> Path:
    """A cache holding one finished pipeline and its 2 paid answers."""
    done = run_cli("synthgen", "pipeline=text_generation", *server_llm(server), "num_rows=2")
    assert done.returncode == 0, done.stderr
    return tmp_path / "cache"


def test_without_a_terminal_it_refuses_in_one_line_and_deletes_nothing(run_cli: RunCli, filled: Path) -> None:
    done = run_cli("synthgen.cli.main", "cache", "clear")  # run_cli's stdin is not a terminal
    assert done.returncode == 2
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("error: synthgen cache clear with no name deletes 2 paid LLM answers, 1 pipeline folder(s)")
    assert line.endswith("pass --yes to confirm, or name one pipeline")
    assert (filled / "requests").is_dir()


def test_yes_clears_everything(run_cli: RunCli, filled: Path) -> None:
    done = run_cli("synthgen.cli.main", "cache", "clear", "--yes")
    assert done.returncode == 0, done.stderr
    assert "removed the whole cache" in done.stdout and not filled.exists()


@pytest.mark.parametrize(("answer", "deleted"), [("y", True), ("", False), ("no", False)])
def test_on_a_terminal_it_asks_naming_the_paid_answers(filled: Path, monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str], answer: str,
                                                       deleted: bool) -> None:
    asked: list[str] = []
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("builtins.input", lambda prompt: asked.append(prompt) or answer)
    code = cli.main(["cache", "clear", "--cache-dir", str(filled)]) if deleted else None
    if not deleted:
        with pytest.raises(SystemExit) as exit_info:
            cli.main(["cache", "clear", "--cache-dir", str(filled)])
        code = exit_info.value.code
    assert asked[0].startswith("This deletes 2 paid LLM answers, 1 pipeline folder(s)")
    assert asked[0].endswith("Delete everything? [y/N] ")
    assert (code, filled.exists()) == ((0, False) if deleted else (1, True))
    assert ("nothing deleted" in capsys.readouterr().out) is not deleted


def test_naming_a_pipeline_needs_no_confirmation(run_cli: RunCli, filled: Path) -> None:
    done = run_cli("synthgen.cli.main", "cache", "clear", "text_generation")
    assert done.returncode == 0, done.stderr
    assert "removed pipeline 'text_generation'" in done.stdout
