"""``EmbeddingGeneration`` and ``GenerateEmbeddings``: a vector per row's text, from an embeddings backend.

distilabel's names and columns: ``EmbeddingGeneration(embeddings=...)`` and ``GenerateEmbeddings(llm=...)``
both read ``text`` and write ``embedding`` (a list of floats) and ``model_name``. Vectors are cached per
text in the request cache, so a rerun or another pipeline embedding the same texts pays nothing.
"""

from __future__ import annotations

from typing import Any

from synthgen.errors import StepError
from synthgen.llms.embeddings import Embeddings
from synthgen.steps.base import Step, StepInput, StepOutput


class EmbeddingStep(Step):
    """What both embedding steps share; subclasses name the field that holds the backend."""

    @property
    def backend(self) -> Embeddings:
        """The embeddings backend."""
        raise NotImplementedError(f"{type(self).__name__}.backend is not implemented")

    @property
    def inputs(self) -> list[str]:
        return ["text"]

    @property
    def outputs(self) -> list[str]:
        return ["embedding", "model_name"]

    def load(self) -> None:
        super().load()
        self.backend.load()

    def unload(self) -> None:
        self.backend.unload()
        super().unload()

    def fingerprint_params(self) -> dict[str, Any]:
        # Under one name whichever field holds the backend (``GenerateEmbeddings`` calls it ``llm``).
        params = {k: v for k, v in super().fingerprint_params().items() if k not in ("embeddings", "llm")}
        return {**params, "embeddings": self.backend.fingerprint_params()}

    def process(self, *inputs: StepInput) -> StepOutput:
        rows = inputs[0] if inputs else []
        texts = [self._text(row) for row in rows]
        vectors = self.backend.encode(texts)
        yield [{**row, "embedding": vector, "model_name": self.backend.model_name}
               for row, vector in zip(rows, vectors, strict=True)]

    def _text(self, row: dict[str, Any]) -> str:
        text = row["text"]
        if not isinstance(text, str):
            raise StepError(str(self.name), f"column 'text' holds a {type(text).__name__}, not text: filter out "
                                            "rows without text (e.g. failed generations) before embedding")
        return text


class EmbeddingGeneration(EmbeddingStep):
    """Embed each row's ``text`` with ``embeddings``.

    Args:
        embeddings: the backend (``openai_embeddings``, ``llamacpp_embeddings``, or a plugin's).

    Inputs: ``text``. Outputs: ``embedding``, ``model_name``.
    """

    embeddings: Embeddings

    @property
    def backend(self) -> Embeddings:
        return self.embeddings

    @property
    def llm(self) -> Embeddings:
        """The backend, under the name the runner checks before a run (a missing key stops it early)."""
        return self.embeddings


class GenerateEmbeddings(EmbeddingStep):
    """Embed each row's ``text`` with ``llm`` (distilabel's name for the same step with an ``llm=``).

    Inputs: ``text``. Outputs: ``embedding``, ``model_name``.
    """

    llm: Embeddings

    @property
    def backend(self) -> Embeddings:
        return self.llm
