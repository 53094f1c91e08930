"""Embeddings backends: OpenAI-compatible /v1/embeddings, the request cache, keys, and llama.cpp."""

from __future__ import annotations

import math
import pickle

import pytest

from synthgen.errors import LLMError
from synthgen.llms.openai_embeddings import OpenAIEmbeddings


def test_vectors_come_back_in_text_order_in_batches(openai_server) -> None:  # type: ignore[no-untyped-def]
    emb = OpenAIEmbeddings(model="e", base_url=openai_server.base_url, api_key="k", batch_size=2)
    vectors = emb.encode(["the cat", "a dog", "The cat!"])
    assert len(vectors) == 3 and vectors[0] == vectors[2] != vectors[1]
    assert math.isclose(sum(v * v for v in vectors[0]), 1.0)
    assert openai_server.counters.requests == 2


def test_each_text_is_embedded_once_across_runs(openai_server, active_store) -> None:  # type: ignore[no-untyped-def]
    emb = OpenAIEmbeddings(model="e", base_url=openai_server.base_url, api_key="k")
    first = emb.encode(["one", "two"])
    assert emb.encode(["two", "one", "three"]) == [first[1], first[0], emb.encode(["three"])[0]]
    assert openai_server.counters.requests == 2, "only 'three' was new"


def test_server_errors_are_retried_then_reported(openai_server) -> None:  # type: ignore[no-untyped-def]
    openai_server.inject(503, count=1)
    emb = OpenAIEmbeddings(model="e", base_url=openai_server.base_url, api_key="k", max_retries=1)
    assert len(emb.encode(["x"])) == 1
    openai_server.inject(400, count=1)
    with pytest.raises(LLMError, match="answered 400"):
        emb.encode(["y"])


def test_a_missing_key_for_a_remote_server_is_a_clear_error(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(LLMError, match="set the OPENAI_API_KEY environment variable"):
        OpenAIEmbeddings(model="text-embedding-3-small").preflight()


def test_the_key_is_never_dumped_and_the_port_not_fingerprinted() -> None:
    emb = OpenAIEmbeddings(model="e", base_url="http://127.0.0.1:9/v1", api_key="sk-secret")
    assert "sk-secret" not in str(emb.dump()) and "sk-secret" not in repr(emb)
    assert emb.fingerprint_params() == OpenAIEmbeddings(model="e", base_url="http://127.0.0.1:10/v1").fingerprint_params()
    assert pickle.loads(pickle.dumps(emb)).model == "e"


@pytest.mark.llamacpp
def test_the_embedded_model_embeds_with_llama_cpp(embedded_model_works: None) -> None:
    from synthgen.llms.llamacpp_embeddings import LlamaCppEmbeddings

    emb = LlamaCppEmbeddings()
    try:
        same, other = emb.encode(["The sky is blue.", "Quarterly tax filing deadlines."])
        again = emb.encode(["The sky is blue."])[0]
    finally:
        emb.unload()
    assert len(same) == len(other) > 16 and math.isclose(sum(v * v for v in same), 1.0, rel_tol=1e-3)
    assert again == same
