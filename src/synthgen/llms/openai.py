"""``OpenAILLM``: OpenAI, or any OpenAI-compatible server through ``base_url``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Literal

from loguru import logger
from pydantic import PrivateAttr

from synthgen.llms.api import APILLM, REQUEST_KEY_HEADER
from synthgen.llms.http import APIStatusError
from synthgen.llms.openai_wire import (
    chat_body,
    completion_result,
    openai_headers,
    prompt_body,
    text_completion_result,
)
from synthgen.llms.params import COMPATIBLE_EXTRA, OPENAI_ACCEPTED
from synthgen.llms.requests import RawPrompt, Request, Result

if TYPE_CHECKING:
    from synthgen.llms.offline import BatchAPI


_FALLBACKS = ("json_schema", "json_object", "none")
"""The ways to send a schema that ``structured_output="auto"`` tries, in order."""


class OpenAILLM(APILLM):
    """Chat completions from OpenAI or an OpenAI-compatible server (vLLM, llama.cpp, TGI, ...).

    Args:
        model: model name, e.g. ``"gpt-4o-mini"``.
        base_url: e.g. ``"http://127.0.0.1:8000/v1"`` for a local server.
        api_key: defaults to ``$OPENAI_API_KEY``.
        structured_output: how a task's JSON schema is sent. ``json_schema`` (``response_format`` of type
            ``json_schema``: OpenAI, vLLM, llama.cpp's llama-server, SGLang, Ollama enforce it);
            ``json_object`` (``{"type": "json_object", "schema": ...}``: llama-cpp-python's server and
            vLLM enforce the schema, others give plain JSON mode); ``none`` (nothing sent). ``auto`` (the
            default) sends ``json_schema``; when the server refuses it (400, 422, or an error naming
            ``response_format``) it tries ``json_object``, then ``none``, and keeps what worked for the run.
    """

    type_name: ClassVar[str] = "openai"
    required_package: ClassVar[tuple[str, str] | None] = ("openai", "openai")
    api_key_env: ClassVar[str] = "OPENAI_API_KEY"
    base_url_env: ClassVar[str] = "OPENAI_BASE_URL"
    default_base_url: ClassVar[str] = "https://api.openai.com/v1"

    structured_output: Literal["auto", "json_schema", "json_object", "none"] = "auto"

    _refused: list[str] = PrivateAttr(default_factory=list)

    @property
    def supports_structured_output(self) -> bool:
        # Judging tasks then ask for JSON and send their schema; after an `auto` fallback they still parse
        # the JSON the prompt asks for.
        return self.structured_output in ("auto", "json_schema")

    @property
    def response_format(self) -> str:
        """How a schema is sent now: ``structured_output``, with ``auto`` resolved (and fallen back)."""
        if self.structured_output == "auto":
            return next(f for f in _FALLBACKS if f not in self._refused)
        return self.structured_output

    @property
    def supports_raw_prompt(self) -> bool:
        # OpenAI's own API serves /completions for legacy models only; OpenAI-compatible servers (vLLM,
        # llama.cpp, TGI, SGLang, Ollama) serve it for every model.
        return not self._is_openai

    def accepted_generation_kwargs(self) -> frozenset[str]:
        # OpenAI-compatible servers add sampling parameters of their own; `extra_body` passes any other.
        return OPENAI_ACCEPTED | (frozenset() if self._is_openai else COMPATIBLE_EXTRA)

    @property
    def _is_openai(self) -> bool:
        """OpenAI's own API, not a compatible server (vLLM, llama.cpp, TGI, SGLang, Ollama)."""
        return self.cache_identity()["host"] == "api.openai.com"

    def _make_client(self, key: str) -> Any:
        # Chat completions go through the lean client (see synthgen.llms.http for why not the SDK).
        from synthgen.llms.http import JSONClient

        return JSONClient(self.resolved_base_url, openai_headers(key), self.timeout)

    async def _send(self, request: Request) -> Result:
        if isinstance(request.input, RawPrompt):
            data = await self._client.post("/completions", prompt_body(self.model, request),
                                           headers={REQUEST_KEY_HEADER: request.key})
            return text_completion_result(data)
        while True:
            response_format = self.response_format
            try:
                data = await self._client.post("/chat/completions", chat_body(self.model, request, response_format),
                                               headers={REQUEST_KEY_HEADER: request.key})
                return completion_result(data)
            except APIStatusError as exc:
                if not self._falls_back(request, response_format, exc):
                    raise

    def _falls_back(self, request: Request, response_format: str, exc: APIStatusError) -> bool:
        """Whether ``exc`` is the server refusing ``response_format`` in ``auto`` mode: then the next one
        in :data:`_FALLBACKS` is used, for this request and the rest of the run."""
        if self.structured_output != "auto" or request.schema is None or response_format == "none":
            return False
        # 400/422 is the usual refusal; llama-cpp-python's server answers its validation error with a 500.
        if exc.status_code not in (400, 422) and "response_format" not in str(exc):
            return False
        if response_format not in self._refused:
            self._refused.append(response_format)
            logger.warning(f"openai LLM '{self.model}': the server at {self.resolved_base_url} refused a "
                           f"{response_format} response_format ({str(exc)[:160]}); trying {self.response_format} "
                           "from now on. Set structured_output= to choose")
        return True

    def _batch_api(self) -> BatchAPI:
        from synthgen.llms.openai_batch import OpenAIBatchAPI

        return OpenAIBatchAPI(self.model, self._sdk_client(), self.offline_batch_max_requests,
                              self.offline_batch_max_bytes)

    async def _open_sdk(self, key: str) -> Any:
        from openai import AsyncOpenAI

        # Our engine owns retries (with Retry-After and a circuit breaker): the SDK must not retry too.
        return AsyncOpenAI(api_key=key, base_url=self.resolved_base_url, timeout=self.timeout, max_retries=0)
