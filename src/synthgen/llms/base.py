"""The ``LLM`` base class: what every backend shares.

An LLM is a pydantic model like a step: its parameters are validated fields, fields annotated
``RuntimeParameter[...]`` can be set at run time, fields annotated ``Fingerprint.IGNORE`` (how requests
are sent, never what comes back) are not part of its fingerprint (:mod:`synthgen.fields`), and
``dump()`` gives plain data for pipeline.yaml with no secret in it. Live state (clients, engines, event
loops) is created in ``load()`` and kept in private attributes, so an LLM pickles cleanly to a spawned
worker.
"""

from __future__ import annotations

import importlib.util
import threading
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

from synthgen.errors import ConfigError, MissingDependencyError, did_you_mean
from synthgen.fields import (
    RuntimeParameter,
    dump_model,
    fingerprint_data,
    runtime_parameter_names,
    set_runtime_parameters,
)
from synthgen.llms.requests import (
    ChatType,
    GenerateOutput,
    LLMInput,
    Request,
    Result,
    cached_result,
    group_results,
    make_request,
    store_result,
)
from synthgen.llms.structured import schema_of
from synthgen.names import snake_case
from synthgen.store import active_store

__all__ = ["LLM", "ChatType", "GenerateOutput", "LLMInput"]


class LLM(BaseModel):
    """Base class of every LLM backend.

    Subclasses set ``type_name`` (their registered name), implement ``model_name`` and
    ``_generate_requests`` (or, for API backends, derive from :class:`synthgen.llms.api.APILLM`).
    """

    model_config = ConfigDict(arbitrary_types_allowed=True, extra="forbid", validate_assignment=True,
                              protected_namespaces=())

    type_name: ClassVar[str] = "llm"
    required_package: ClassVar[tuple[str, str] | None] = None
    """``(import name, pip name)`` of the backend package, checked at construction."""

    generation_kwargs: RuntimeParameter[dict[str, Any]] = Field(default_factory=dict)

    # In-process engines are not re-entrant: concurrent batches take turns.
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)
    _step_name: str | None = PrivateAttr(default=None)

    def model_post_init(self, __context: Any) -> None:
        self._check_dependency()

    def accepted_generation_kwargs(self) -> frozenset[str] | None:
        """The ``generation_kwargs`` names this backend understands (``None``: any, unchecked)."""
        return None

    @model_validator(mode="after")
    def _known_generation_kwargs(self) -> LLM:
        # After validation, on construction and on assignment (runtime parameters) alike.
        self.check_generation_kwargs(self.generation_kwargs)
        return self

    def check_generation_kwargs(self, kwargs: dict[str, Any]) -> None:
        """Reject a name this backend does not accept: a typo would otherwise be sent, or dropped, silently.

        Raises:
            ConfigError: an unknown name, with a "did you mean" and the accepted names.
        """
        accepted = self.accepted_generation_kwargs()
        unknown = sorted(set(kwargs) - accepted) if accepted is not None else []
        if unknown:
            raise ConfigError(
                f"{self.type_name} LLM: unknown generation parameter '{unknown[0]}'"
                f"{did_you_mean(unknown[0], accepted or ())} Accepted: {', '.join(sorted(accepted or ()))}"
            )

    def _check_dependency(self) -> None:
        # find_spec checks presence without importing the (heavy) package.
        if self.required_package is None:
            return
        module, pip_name = self.required_package
        if importlib.util.find_spec(module) is None:
            raise MissingDependencyError(pip_name, self.type_name)

    # ---- identity --------------------------------------------------------------------------
    @property
    def model_name(self) -> str:
        """The model this LLM generates with (recorded in each row's ``model_name``)."""
        raise NotImplementedError

    @property
    def supports_structured_output(self) -> bool:
        """Whether the backend enforces a JSON schema itself (a grammar, guided decoding, a forced
        tool): tasks that can answer either way (UltraFeedback) then ask for JSON."""
        return False

    @property
    def supports_raw_prompt(self) -> bool:
        """Whether a :class:`~synthgen.llms.requests.RawPrompt` input reaches the model as it is, with no
        chat template around it (llama.cpp, vLLM, an OpenAI-compatible ``/completions`` endpoint): what
        Magpie's pre-query templates and Genstruct's prompt format need."""
        return False

    @classmethod
    def registered_name(cls) -> str:
        """``type_name`` when the class sets its own, else its snake_case name (a plugin's
        ``class MyBackend(LLM)`` registers as ``my_backend``, and a subclass never takes its parent's)."""
        return cls.__dict__.get("type_name") or snake_case(cls.__name__)

    def cache_identity(self) -> dict[str, Any]:
        """What identifies the backend in a request-cache key: backend, model and every other setting
        that changes answers (a llama.cpp ``chat_format``, a vLLM ``dtype``), but not the generation
        parameters, which each request carries itself."""
        settings = {k: v for k, v in self.fingerprint_params().items() if k not in ("type", "generation_kwargs")}
        return {"backend": self.type_name, "model": self.model_name, **settings}

    @property
    def step_name(self) -> str | None:
        """The step this LLM generates for (set by the task before ``load()``): the replicas of one
        step share its run-wide limits, such as ``max_tokens_budget``."""
        return self._step_name

    @step_name.setter
    def step_name(self, name: str | None) -> None:
        self._step_name = name

    # ---- parameters ------------------------------------------------------------------------
    @classmethod
    def runtime_parameter_names(cls) -> list[str]:
        """The fields declared ``RuntimeParameter[...]``."""
        return runtime_parameter_names(cls)

    def runtime_parameters(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.runtime_parameter_names()}

    def set_runtime_parameters(self, values: dict[str, Any]) -> None:
        """Apply run-time values; an unknown name is a ConfigError listing the valid ones."""
        set_runtime_parameters(self, values, f"{self.type_name} LLM '{self.model_name}'")

    def dump(self) -> dict[str, Any]:
        """Plain data for pipeline.yaml: ``type``, ``class`` and every field except secrets."""
        cls = type(self)
        return {"type": cls.registered_name(), "class": f"{cls.__module__}:{cls.__qualname__}", **dump_model(self)}

    def fingerprint_params(self) -> dict[str, Any]:
        """Output-relevant parameters: backend, model, generation parameters (no secrets, nothing
        declared ``Fingerprint.IGNORE``)."""
        return fingerprint_data(self, self.dump())

    # ---- lifecycle -------------------------------------------------------------------------
    def preflight(self) -> None:
        """Check, without loading or sending anything, what would make ``load()`` fail (the runner
        calls it before any step runs).

        Raises:
            SynthgenError: the LLM cannot be used as configured.
        """

    def load(self) -> None:
        """Acquire clients or models. Called once per worker before the first batch."""

    def unload(self) -> None:
        """Release clients, engines and GPU memory."""

    def __getstate__(self) -> dict[Any, Any]:
        # Live clients, threads and engines never travel to a spawned worker: it calls load() itself.
        state = super().__getstate__()
        state["__pydantic_private__"] = None
        return state

    def __setstate__(self, state: dict[Any, Any]) -> None:
        private = {name: attr.get_default(call_default_factory=True, validated_data={})
                   for name, attr in type(self).__private_attributes__.items()}
        super().__setstate__({**state, "__pydantic_private__": private})

    # ---- generation ------------------------------------------------------------------------
    def generate(
        self,
        inputs: list[LLMInput],
        num_generations: int = 1,
        structured_output: dict[str, Any] | type[BaseModel] | None = None,
        raw_responses: bool = False,
        first_samples: list[int] | None = None,
        **generation_kwargs: Any,
    ) -> list[GenerateOutput]:
        """Generate ``num_generations`` completions for each input.

        Args:
            inputs: chats (lists of ``{"role", "content"}``) or plain prompt strings.
            num_generations: completions per input; each is its own cached request (sample index).
            structured_output: a JSON schema or pydantic model class the output must follow.
            raw_responses: also return each backend answer whole, as plain data (``raw_responses``).
            first_samples: per input, the sample index of its first generation (default 0): identical
                inputs with different indices are different requests, e.g. Magpie's rows, which all
                send the same pre-query template.
            **generation_kwargs: override ``self.generation_kwargs`` for this call.

        Returns:
            One dict per input: ``generations`` and ``statistics`` (``input_tokens``/``output_tokens``),
            plus ``errors`` when a generation failed (its generation is then ``None``) and, when asked,
            ``raw_responses`` (``None`` for a failed generation, or an answer cached before synthgen
            kept raw responses).

        Raises:
            LLMError: the backend is unusable (circuit breaker open).
            BudgetExceeded: ``max_tokens_budget`` was reached.
        """
        self.check_generation_kwargs(generation_kwargs)
        params = {**self.generation_kwargs, **generation_kwargs}
        schema = schema_of(structured_output)
        identity = self.cache_identity()
        firsts = first_samples or [0] * len(inputs)
        requests = [make_request(identity, chat, params, schema, first + i)
                    for chat, first in zip(inputs, firsts, strict=True) for i in range(num_generations)]
        results = self._run_requests(requests)
        return group_results(results, len(inputs), num_generations, raw_responses)

    def _run_requests(self, requests: list[Request]) -> list[Result]:
        """Answer from the request cache where possible; generate the rest and cache them."""
        store = active_store()
        results: list[Result | None] = [cached_result(store, r) for r in requests]
        missing = [i for i, r in enumerate(results) if r is None]
        if missing:
            with self._lock:
                fresh = self._generate_requests([requests[i] for i in missing])
            for i, result in zip(missing, fresh, strict=True):
                store_result(store, requests[i], result)
                results[i] = result
        return [r for r in results if r is not None]

    def _generate_requests(self, requests: list[Request]) -> list[Result]:
        """Generate uncached requests in one go (in-process backends override this)."""
        raise NotImplementedError(f"{type(self).__name__} does not implement _generate_requests")
