"""``FakeEmbeddings``: deterministic embeddings that need no model and no server, for tests and examples."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from synthgen.llms.embeddings import Embeddings
from synthgen.testing.replies import bag_of_words_vector


class FakeEmbeddings(Embeddings):
    """A unit vector of each text's words (case and punctuation ignored): the same words embed the same,
    shared words are close, so near-duplicate removal behaves as it would with a real model.

    Args:
        dimensions: the vector length.
    """

    type_name: ClassVar[str] = "fake_embeddings"
    dimensions: int = Field(default=32, ge=2)

    @property
    def model_name(self) -> str:
        return "fake-embeddings"

    def embed(self, texts: list[str]) -> list[list[float]]:
        return [bag_of_words_vector(text, self.dimensions) for text in texts]
