"""TextGeneration and ChatGeneration: prompts from templates, system prompts, conversations."""

from __future__ import annotations

import pytest

from synthgen.errors import ConfigError, StepError
from synthgen.tasks import ChatGeneration, TextGeneration
from synthgen.testing import FakeLLM


def test_template_renders_the_named_columns() -> None:
    task = TextGeneration(llm=FakeLLM(), template="Q: {{ question }}\nContext: {{ context }}",
                          columns=["question", "context"], system_prompt="Be brief.")
    assert task.inputs == ["question", "context"]
    assert task.format_input({"question": "why?", "context": "sky", "other": 1}) == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Q: why?\nContext: sky"},
    ]


def test_without_template_the_column_is_the_prompt() -> None:
    assert TextGeneration(llm=FakeLLM()).format_input({"instruction": "hi"}) == [{"role": "user", "content": "hi"}]


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"columns": ["a", "b"]}, r"columns \['a', 'b'\] need a `template`"),
    ({"template": "{{ a "}, "invalid Jinja2 template"),
])
def test_bad_templates_are_config_errors(kwargs, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError, match=message):
        TextGeneration(llm=FakeLLM(), **kwargs)


def test_chat_generation_answers_the_conversation() -> None:
    task = ChatGeneration(name="chat", llm=FakeLLM())
    messages = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"},
                {"role": "user", "content": "how are you?"}]
    task.load()
    [[row]] = list(task.process([{"messages": messages}]))
    assert row["generation"].endswith("how are you?")
    assert row["synthgen_metadata"]["raw_input_chat"] == messages


def test_chat_generation_rejects_malformed_messages() -> None:
    with pytest.raises(StepError, match="column 'messages' must be a list of"):
        ChatGeneration(name="chat", llm=FakeLLM()).format_input({"messages": "hi"})


def test_a_templated_task_pickles_and_renders_after(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import pickle

    # Steps reach their replicas pickled; a compiled Jinja2 template does not pickle.
    task = TextGeneration(llm=FakeLLM(), template="Q: {{ page }}", columns="page")
    task.format_input({"page": "x"})
    again = pickle.loads(pickle.dumps(task))
    assert again.format_input({"page": "y"}) == [{"role": "user", "content": "Q: y"}]


def test_a_task_with_a_template_pickles_before_and_after_rendering() -> None:
    import pickle

    task = TextGeneration(name="t", llm=FakeLLM(), template="Q: {{ instruction }}")
    copy = pickle.loads(pickle.dumps(task))  # what a spawned worker receives
    copy.load()
    assert copy.format_input({"instruction": "why?"}) == [{"role": "user", "content": "Q: why?"}]
    copy.unload()
    task.format_input({"instruction": "x"})  # rendered once in this process (a notebook, a test)
    assert pickle.loads(pickle.dumps(task)).template == "Q: {{ instruction }}"


def test_a_template_task_runs_in_a_pipeline_with_spawned_workers(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from synthgen import Pipeline
    from synthgen.steps import LoadDataFromDicts

    with Pipeline(name="templated", cache_dir=str(tmp_path)) as pipeline:
        load = LoadDataFromDicts(data=[{"instruction": "a"}, {"instruction": "b"}])
        load >> TextGeneration(name="gen", llm=FakeLLM(), template="Say: {{ instruction }}")
    rows = pipeline.run(use_cache=False)["default"]["train"].to_list()
    assert [r["generation"] is not None for r in rows] == [True, True]
    assert [r["synthgen_metadata"]["raw_input_gen"][-1]["content"] for r in rows] == ["Say: a", "Say: b"]
