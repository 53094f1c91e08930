"""``@task``: a task from a function whose docstring holds the prompts (distilabel's format)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from synthgen import Pipeline
from synthgen.errors import ConfigError, StepError
from synthgen.plan import step_fingerprint
from synthgen.steps.loaders import LoadDataFromDicts
from synthgen.tasks import task
from synthgen.testing import FakeLLM


@task(inputs=["text", "language"], outputs=["summary", "words"])
def Summarize(output: str | None, input: dict[str, Any] | None = None) -> dict[str, Any]:
    """Summarize a text in one sentence.

    ---
    system_prompt: |
      You write summaries in {language}. Answer as JSON like {"summary": "..."}.
    user_message_template: |
      Summarize this text:

      {text}
    ---
    """
    assert output is not None
    if "unparseable" in output:
        raise ValueError("no summary in the answer")
    return {"summary": output.upper(), "words": len(output.split())}


@task(inputs=["text"], outputs=["echo"])
def ReturnsAList(output: str | None, input: dict[str, Any] | None = None) -> Any:
    """---
    system_prompt: ""
    user_message_template: "{text}"
    ---
    """
    return [output]


def test_the_docstring_templates_become_the_chat() -> None:
    chat = Summarize(llm=FakeLLM()).format_input({"text": "A long text.", "language": "French"})
    assert chat == [
        {"role": "system", "content": 'You write summaries in French. Answer as JSON like {"summary": "..."}.'},
        {"role": "user", "content": "Summarize this text:\n\nA long text."},
    ]


def test_an_empty_system_prompt_sends_only_the_user_message() -> None:
    assert ReturnsAList(llm=FakeLLM()).format_input({"text": "hi"}) == [{"role": "user", "content": "hi"}]


def test_the_class_is_a_task_with_the_function_name_and_columns() -> None:
    step = Summarize(llm=FakeLLM())
    assert type(step).__name__ == "Summarize"
    assert step.input_columns() == {"text": True, "language": True}
    assert step.output_columns() == ["summary", "words", "model_name"]


def test_the_function_parses_each_answer_and_an_exception_is_a_row_error() -> None:
    step = Summarize(name="sum", llm=FakeLLM(prefix="unparseable:", fail_on=["SKIP"]))
    step.load()
    [rows] = list(step.process([{"text": "one two", "language": "en"}]))
    assert rows[0]["summary"] is None
    assert rows[0]["synthgen_metadata"]["error_sum"] == "could not parse the output: no summary in the answer"
    ok = Summarize(name="sum", llm=FakeLLM(prefix="ok:"))
    ok.load()
    [[row]] = list(ok.process([{"text": "one two", "language": "en"}]))
    assert row["summary"].startswith("OK:") and row["words"] == len(row["summary"].split())


def test_a_function_that_does_not_return_a_dict_is_named() -> None:
    step = ReturnsAList(name="echo", llm=FakeLLM())
    step.load()
    with pytest.raises(StepError, match="returned list: it must return a dict of output columns"):
        list(step.process([{"text": "hi"}]))


def test_the_templates_are_part_of_the_fingerprint() -> None:
    @task(inputs=["text"], outputs=["x"])
    def First(output: str | None, input: dict[str, Any] | None = None) -> dict[str, Any]:
        """---
        system_prompt: Be short.
        user_message_template: "{text}"
        ---"""
        return {"x": output}

    @task(inputs=["text"], outputs=["x"])
    def Second(output: str | None, input: dict[str, Any] | None = None) -> dict[str, Any]:
        """---
        system_prompt: Be long.
        user_message_template: "{text}"
        ---"""
        return {"x": output}

    Second.__name__ = "First"  # same registered name: only the prompt differs
    assert step_fingerprint(First(name="t", llm=FakeLLM())) != step_fingerprint(Second(name="t", llm=FakeLLM()))


@pytest.mark.parametrize(("doc", "message"), [
    (None, "its docstring must hold the prompts between two `---` lines"),
    ("Just text.", "its docstring must hold the prompts between two `---` lines"),
    ("---\nsystem_prompt: [unclosed\n---", "front matter is not valid YAML"),
    ("---\nsystem_prompt: hi\n---", "front matter needs user_message_template"),
    ("---\nsystem_prompt: hi\nuser_message_template: '{title}'\n---",
     r"templates use \{title\}, which are not inputs; add them to inputs= \(inputs: text\)"),
])
def test_bad_docstrings_are_config_errors(doc: str | None, message: str) -> None:
    def parse(output: str | None, input: dict[str, Any] | None = None) -> dict[str, Any]:
        return {}

    parse.__doc__ = doc
    with pytest.raises(ConfigError, match=message):
        task(inputs=["text"], outputs=["x"])(parse)


def test_a_decorated_task_runs_in_a_pipeline(tmp_path: Path) -> None:
    with Pipeline(name="decorated", cache_dir=tmp_path) as p:
        LoadDataFromDicts(data=[{"text": f"text {i}", "language": "en"} for i in range(4)]) \
            >> Summarize(name="summarize", llm=FakeLLM(prefix="s:"))
    rows = p.run()["default"]["train"].to_list()
    assert [r["summary"].split()[-1] for r in rows] == ["0", "1", "2", "3"]
    assert all(r["model_name"] == "fake-model" for r in rows)
