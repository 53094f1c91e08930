"""``Embeddings``: what every embedding backend shares (a vector per text, cached like LLM answers).

An embeddings backend is a pydantic model like an LLM: validated fields, ``dump()`` with no secret,
live clients created in ``load()`` and never pickled. Each text is one request in the store's request
cache (keyed by backend, model and text), so no text is paid for twice, across runs and pipelines.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from synthgen.fields import Fingerprint, dump_model, fingerprint_data, set_runtime_parameters
from synthgen.llms.requests import Result, cached_result, make_request, store_result
from synthgen.names import snake_case
from synthgen.store import active_store


class Embeddings(BaseModel):
    """Base class of embedding backends: subclasses implement ``model_name`` and ``embed``.

    Args:
        batch_size: texts per backend call.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True, extra="forbid", validate_assignment=True,
                              protected_namespaces=())

    type_name: ClassVar[str] = "embeddings"
    batch_size: Annotated[int, Fingerprint.IGNORE] = Field(default=64, ge=1)

    @classmethod
    def registered_name(cls) -> str:
        """``type_name`` when the class sets its own, else its snake_case name."""
        return cls.__dict__.get("type_name") or snake_case(cls.__name__)

    @property
    def model_name(self) -> str:
        """The model the vectors come from (recorded in each row's ``model_name``)."""
        raise NotImplementedError

    def load(self) -> None:
        """Acquire clients or models. Called once per worker before the first batch."""

    def unload(self) -> None:
        """Release clients and models."""

    def preflight(self) -> None:
        """Check what would make ``load()`` fail, without loading (the runner calls it before any step)."""

    def embed(self, texts: list[str]) -> list[list[float]]:
        """One vector per text, from the backend (no cache)."""
        raise NotImplementedError(f"{type(self).__name__}.embed is not implemented")

    def encode(self, texts: list[str]) -> list[list[float]]:
        """One vector per text: from the request cache where possible, the rest in ``batch_size`` calls."""
        store = active_store()
        identity = {**self.fingerprint_params(), "model": self.model_name, "embeddings": True}
        requests = [make_request(identity, text, {}, None, 0) for text in texts]
        vectors: list[list[float] | None] = []
        for request in requests:
            cached = cached_result(store, request)
            vectors.append(json.loads(cached.text) if cached is not None and cached.text else None)
        missing = [i for i, v in enumerate(vectors) if v is None]
        for start in range(0, len(missing), self.batch_size):
            chunk = missing[start:start + self.batch_size]
            for i, vector in zip(chunk, self.embed([texts[i] for i in chunk]), strict=True):
                store_result(store, requests[i], Result(json.dumps(vector)))
                vectors[i] = vector
        return [v for v in vectors if v is not None]

    # ---- plain data ------------------------------------------------------------------------
    def dump(self) -> dict[str, Any]:
        """Plain data for pipeline.yaml: ``type``, ``class`` and every field except secrets."""
        cls = type(self)
        return {"type": cls.registered_name(), "class": f"{cls.__module__}:{cls.__qualname__}", **dump_model(self)}

    def fingerprint_params(self) -> dict[str, Any]:
        """Output-relevant parameters: backend and model (no secrets, nothing declared ``Fingerprint.IGNORE``)."""
        return fingerprint_data(self, self.dump())

    @classmethod
    def runtime_parameter_names(cls) -> list[str]:
        return []

    def runtime_parameters(self) -> dict[str, Any]:
        return {}

    def set_runtime_parameters(self, values: dict[str, Any]) -> None:
        """Embeddings have no runtime parameters: any value is a ConfigError listing none."""
        set_runtime_parameters(self, values, f"{self.registered_name()} embeddings '{self.model_name}'")

    def __getstate__(self) -> dict[Any, Any]:
        # Live clients and models never travel to a spawned worker: it calls load() itself.
        state = super().__getstate__()
        state["__pydantic_private__"] = None
        return state

    def __setstate__(self, state: dict[Any, Any]) -> None:
        private = {name: attr.get_default(call_default_factory=True, validated_data={})
                   for name, attr in type(self).__private_attributes__.items()}
        super().__setstate__({**state, "__pydantic_private__": private})
