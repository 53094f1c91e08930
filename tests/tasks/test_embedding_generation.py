"""EmbeddingGeneration / GenerateEmbeddings: a vector per text, through the registry and a pipeline."""

from __future__ import annotations

import pytest

from synthgen import Pipeline
from synthgen.config.build import build_step
from synthgen.errors import StepError
from synthgen.llms.openai_embeddings import OpenAIEmbeddings
from synthgen.steps.loaders.dicts import LoadDataFromDicts
from synthgen.tasks.embedding_generation import EmbeddingGeneration, GenerateEmbeddings


def test_a_pipeline_embeds_each_text_and_reruns_from_the_cache(openai_server, tmp_path) -> None:  # type: ignore[no-untyped-def]
    def build() -> Pipeline:
        with Pipeline(name="emb", cache_dir=tmp_path) as p:
            embeddings = OpenAIEmbeddings(model="e", base_url=openai_server.base_url, api_key="k")
            LoadDataFromDicts(data=[{"text": "a cat"}, {"text": "a dog"}]) >> EmbeddingGeneration(embeddings=embeddings)
        return p

    rows = build().run()["default"]["train"].to_list()
    assert [len(r["embedding"]) for r in rows] == [32, 32] and rows[0]["model_name"] == "e"
    sent = openai_server.counters.requests
    assert build().run()["default"]["train"].to_list() == rows and openai_server.counters.requests == sent


def test_generate_embeddings_takes_the_backend_as_llm_and_builds_from_config(openai_server) -> None:  # type: ignore[no-untyped-def]
    step = build_step("emb", {"type": "generate_embeddings",
                              "llm": {"type": "openai_embeddings", "model": "e", "base_url": openai_server.base_url}})
    assert isinstance(step, GenerateEmbeddings) and step.inputs == ["text"] and step.outputs == ["embedding", "model_name"]
    other = build_step("emb", {"type": "embedding_generation",
                               "embeddings": {"type": "openai_embeddings", "model": "e2", "base_url": openai_server.base_url}})
    assert isinstance(other, EmbeddingGeneration)
    assert step.fingerprint_params() != other.fingerprint_params()
    [row] = next(step.process([{"text": "hello"}]))
    assert len(row["embedding"]) == 32


def test_a_row_without_text_is_a_clear_error(openai_server) -> None:  # type: ignore[no-untyped-def]
    step = EmbeddingGeneration(embeddings=OpenAIEmbeddings(model="e", base_url=openai_server.base_url))
    with pytest.raises(StepError, match="column 'text' holds a NoneType, not text"):
        next(step.process([{"text": None}]))
