"""``LlamaCppEmbeddings``: mean-pooled embeddings of a GGUF model, in this process, with no key."""

from __future__ import annotations

import importlib.util
from typing import Annotated, Any, ClassVar

from pydantic import Field, PrivateAttr

from synthgen.errors import MissingDependencyError
from synthgen.fields import Fingerprint
from synthgen.llms.embedded import embedded_model
from synthgen.llms.embeddings import Embeddings
from synthgen.llms.llamacpp import EMBEDDED_MODEL, resolve_model_path


class LlamaCppEmbeddings(Embeddings):
    """Embeddings from a GGUF model run by llama-cpp-python (an embedding model such as nomic-embed or
    bge, or any model: its hidden states are mean-pooled).

    Args:
        model_path: a GGUF file; ``None`` for the embedded model (useful for tests and demos; an
            embedding model gives better vectors).
        n_ctx: context window in tokens (longer texts are truncated by llama.cpp).
        normalize: scale vectors to unit length.
        n_threads: CPU threads.
    """

    type_name: ClassVar[str] = "llamacpp_embeddings"

    model_path: str | None = None
    n_ctx: int = Field(default=512, ge=16)
    normalize: bool = True
    n_threads: Annotated[int | None, Fingerprint.IGNORE] = None
    verbose: Annotated[bool, Fingerprint.IGNORE] = False

    _llm: Any = PrivateAttr(default=None)

    def model_post_init(self, __context: Any) -> None:
        if importlib.util.find_spec("llama_cpp") is None:
            raise MissingDependencyError("llama-cpp-python", self.type_name, extra="llamacpp")
        if self.model_path is None:
            embedded_model(EMBEDDED_MODEL).path()  # the install hint when the embedded model is missing

    @property
    def model_name(self) -> str:
        return self.model_path or EMBEDDED_MODEL

    def load(self) -> None:
        if self._llm is not None:
            return
        import llama_cpp

        self._llm = llama_cpp.Llama(model_path=resolve_model_path(self.model_path), embedding=True,
                                    n_ctx=self.n_ctx, n_threads=self.n_threads, verbose=self.verbose,
                                    pooling_type=llama_cpp.LLAMA_POOLING_TYPE_MEAN)

    def unload(self) -> None:
        llm, self._llm = self._llm, None
        if llm is not None and hasattr(llm, "close"):
            llm.close()

    def embed(self, texts: list[str]) -> list[list[float]]:
        if self._llm is None:
            self.load()
        return [list(map(float, self._llm.embed(text, normalize=self.normalize))) for text in texts]
