"""``APILLM``: the base of backends that call a remote API through the request engine."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, TypeVar
from urllib.parse import urlparse

from pydantic import BaseModel, Field, PrivateAttr, SecretStr

from synthgen.errors import LLMError
from synthgen.fields import Fingerprint, RuntimeParameter
from synthgen.llms.base import LLM
from synthgen.llms.engine import EngineSettings, Failure, RequestEngine
from synthgen.llms.requests import GenerateOutput, LLMInput, Request, Result, group_results, make_request
from synthgen.llms.spend import Spend
from synthgen.llms.structured import schema_of
from synthgen.store import Store, active_store

if TYPE_CHECKING:
    from synthgen.llms.offline import BatchAPI, OfflineBatches

T = TypeVar("T")
_RETRYABLE_STATUS = {408, 409, 425, 429}
REQUEST_KEY_HEADER = "X-Synthgen-Request-Key"  # lets a test server count a request paid twice
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


class APILLM(LLM):
    """An LLM served over HTTP: requests go through one :class:`RequestEngine` per instance.

    Args:
        model: the provider's model name.
        base_url: the server to call (any compatible server); ``None`` for the provider's default.
        api_key: the key; read from ``api_key_env`` when not given. Never dumped, logged or repr'd.
        max_concurrency: requests in flight at once.
        requests_per_minute / tokens_per_minute: optional rate budgets.
        max_retries: retries of a failing request before its row records the error.
        timeout: seconds per request.
        max_tokens_budget: stop the run once this many tokens (input+output) were used.
        circuit_breaker_threshold: requests failing in a row (each twice, or once for a final error such
            as 401) with no success between them that stop the step once one request succeeded; before
            the first success, 5 of them do (a dead server stops a run of any size at once).
        rate_limit_patience: seconds of nothing but 429s (no success at all) that stop the step; short
            of that, 429s only lower the concurrency and never use up a request's retries.
        use_offline_batch_generation: send the step's requests as provider batch jobs (about half price,
            minutes to 24 h): the first run submits them and ends as pending, a later run collects them.
        offline_batch_generation_block_until_done: poll the jobs at this interval (seconds) until they
            end instead of ending the run as pending.
        resubmit_failed: submit again the requests that failed or expired inside an ended job.
        offline_batch_max_requests / offline_batch_max_bytes: split jobs below the platform's limits.
        jobs_ids: the batch jobs this LLM submitted or waits on (set by synthgen, for information).
    """

    api_key_env: ClassVar[str] = ""
    base_url_env: ClassVar[str] = ""
    default_base_url: ClassVar[str] = ""
    """The server called when neither ``base_url`` nor ``base_url_env`` is set: ``base_url=None`` and the
    provider's own URL are the same server, so they share fingerprints and request-cache keys."""

    model: str
    base_url: str | None = None
    api_key: SecretStr | None = Field(default=None, repr=False)
    # How requests are sent, never what comes back: not part of the fingerprint.
    max_concurrency: Annotated[RuntimeParameter[int], Fingerprint.IGNORE] = Field(default=64, ge=1)
    requests_per_minute: Annotated[RuntimeParameter[int | None], Fingerprint.IGNORE] = Field(default=None, ge=1)
    tokens_per_minute: Annotated[RuntimeParameter[int | None], Fingerprint.IGNORE] = Field(default=None, ge=1)
    max_retries: Annotated[RuntimeParameter[int], Fingerprint.IGNORE] = Field(default=6, ge=0)
    timeout: Annotated[RuntimeParameter[float], Fingerprint.IGNORE] = Field(default=120.0, gt=0)
    max_tokens_budget: Annotated[RuntimeParameter[int | None], Fingerprint.IGNORE] = Field(default=None, ge=1)
    circuit_breaker_threshold: Annotated[int, Fingerprint.IGNORE] = Field(default=10, ge=1)
    rate_limit_patience: Annotated[RuntimeParameter[float], Fingerprint.IGNORE] = Field(default=120.0, gt=0)
    # Online or offline, the same requests give the same answers (and share the request cache).
    use_offline_batch_generation: Annotated[bool, Fingerprint.IGNORE] = False
    offline_batch_generation_block_until_done: Annotated[RuntimeParameter[float | None], Fingerprint.IGNORE] = (
        Field(default=None, gt=0))
    resubmit_failed: bool = False  # part of the fingerprint since it was added: keeps existing caches valid
    offline_batch_max_requests: Annotated[int | None, Fingerprint.IGNORE] = Field(default=None, ge=1)
    offline_batch_max_bytes: Annotated[int | None, Fingerprint.IGNORE] = Field(default=None, ge=1)
    jobs_ids: Annotated[tuple[str, ...] | None, Fingerprint.IGNORE] = None

    _engine: RequestEngine | None = PrivateAttr(default=None)
    _client: Any = PrivateAttr(default=None)
    _sdk: Any = PrivateAttr(default=None)

    @property
    def model_name(self) -> str:
        return self.model

    @property
    def resolved_base_url(self) -> str:
        """``base_url``, else the provider SDK's environment variable, else the provider's own server."""
        return self.base_url or os.environ.get(self.base_url_env) or self.default_base_url

    def dump(self) -> dict[str, Any]:
        """As :meth:`LLM.dump`, with the server really called: rerunning pipeline.yaml elsewhere must not
        depend on an ``OPENAI_BASE_URL`` that happened to be set (the fingerprint keeps only the host)."""
        return {**super().dump(), "base_url": self.resolved_base_url}

    def cache_identity(self) -> dict[str, Any]:
        return {"backend": self.type_name, "host": urlparse(self.resolved_base_url).hostname, "model": self.model}

    def fingerprint_params(self) -> dict[str, Any]:
        # The host, not the port: a local server restarted on another port serves the same model.
        params = super().fingerprint_params()
        params["base_url"] = self.cache_identity()["host"]
        return params

    @property
    def engine(self) -> RequestEngine | None:
        """The running engine (``None`` before ``load()``); its counters help benchmarks."""
        return self._engine

    # ---- lifecycle -------------------------------------------------------------------------
    def load(self) -> None:
        """Create the client and start the engine.

        Raises:
            LLMError: no API key was given and the environment variable is not set.
        """
        if self._engine is not None:
            return
        key = self._resolve_key()
        label = f"{self.type_name} LLM '{self.model}'"
        self._engine = RequestEngine(label, self._send, self._classify_redacted, self._settings(),
                                     Spend(self.step_name))
        self._engine.start()
        self._engine.call(lambda: self._open(key))

    async def _open(self, key: str) -> None:
        # The client is created on the engine loop: its connection pool belongs to that loop.
        self._client = self._make_client(key)

    def unload(self) -> None:
        engine, self._engine = self._engine, None
        if engine is None:
            return
        for client in (self._client, self._sdk):
            if client is not None:
                _close_with(engine, client)
        self._client = self._sdk = None
        engine.stop()

    def preflight(self) -> None:
        """A missing API key is found before the first batch of the run, not in a worker.

        Raises:
            LLMError: no API key was given and the environment variable is not set.
        """
        self._resolve_key()

    def _resolve_key(self) -> str:
        if self.api_key is not None:
            return self.api_key.get_secret_value()
        key = os.environ.get(self.api_key_env)
        if not key and self.cache_identity()["host"] in _LOOPBACK:
            return "not-needed"  # a server on this machine (vLLM, llama.cpp) rarely checks; the SDK wants one
        if not key:
            raise LLMError(
                f"no API key for the {self.type_name} LLM '{self.model}': set the {self.api_key_env} "
                "environment variable or pass api_key=..."
            )
        return key

    def _settings(self) -> EngineSettings:
        return EngineSettings(
            max_concurrency=self.max_concurrency, requests_per_minute=self.requests_per_minute,
            tokens_per_minute=self.tokens_per_minute, max_retries=self.max_retries,
            max_tokens_budget=self.max_tokens_budget, circuit_breaker_threshold=self.circuit_breaker_threshold,
            rate_limit_patience=self.rate_limit_patience,
        )

    # ---- generation ------------------------------------------------------------------------
    def _run_requests(self, requests: list[Request]) -> list[Result]:
        if self._engine is None:
            raise LLMError(f"{self.type_name} LLM '{self.model}' is not loaded: call load() before generate()")
        if self.use_offline_batch_generation:
            return self._offline_batches(active_store() or Store()).collect(requests)
        return self._engine.run(requests, active_store())

    # ---- offline batch generation ------------------------------------------------------------
    def _offline_batches(self, store: Store) -> OfflineBatches:
        from synthgen.llms.offline import Ledger, OfflineBatches, OfflineSettings

        settings = OfflineSettings(self.offline_batch_generation_block_until_done, self.resubmit_failed,
                                   self.max_retries)
        return OfflineBatches(self._batch_api(), self._on_loop, f"{self.type_name} LLM '{self.model}'",
                              Ledger(store, self.cache_identity()), settings, self._classify_redacted,
                              on_jobs=self._record_jobs)

    def _record_jobs(self, jobs_ids: tuple[str, ...]) -> None:
        self.jobs_ids = jobs_ids or None

    def _on_loop(self, coro: Coroutine[Any, Any, T]) -> T:
        if self._engine is None or self._engine.loop is None:
            raise LLMError(f"{self.type_name} LLM '{self.model}' is not loaded: call load() first")
        return asyncio.run_coroutine_threadsafe(coro, self._engine.loop).result()

    def _batch_api(self) -> BatchAPI:
        raise LLMError(f"the {self.type_name} backend has no offline batch API: set use_offline_batch_generation=False")

    def _sdk_client(self) -> Any:
        """The provider SDK's client, opened on first use: batch files and jobs are few requests, so the
        SDK's convenience wins there (generation itself goes over :mod:`synthgen.llms.http`)."""
        if self._sdk is None:
            self._sdk = self._on_loop(self._open_sdk(self._resolve_key()))
        return self._sdk

    async def _open_sdk(self, key: str) -> Any:
        raise NotImplementedError

    def offline_batch_jobs_status(self, jobs_ids: list[str]) -> dict[str, str]:
        """Each job's state (``"in_progress, 3/10 done"``); the LLM must be loaded."""
        api = self._batch_api()
        return {job: self._on_loop(api.status(job)).summary for job in jobs_ids}

    def cancel_offline_batch_jobs(self, jobs_ids: list[str]) -> None:
        """Ask the provider to cancel these jobs; a rerun then collects what they finished."""
        api = self._batch_api()
        for job in jobs_ids:
            self._on_loop(api.cancel(job))

    async def agenerate(
        self,
        input: LLMInput,
        num_generations: int = 1,
        structured_output: dict[str, Any] | type[BaseModel] | None = None,
        raw_responses: bool = False,
        **generation_kwargs: Any,
    ) -> GenerateOutput:
        """Generate for one input from any event loop (the work runs on the engine's loop).

        Args:
            input: a chat or a prompt string.
            num_generations: completions to produce.
            structured_output: JSON schema or pydantic model class the output must follow.
            raw_responses: also return the backend's answers whole.
            **generation_kwargs: override ``self.generation_kwargs``.

        Returns:
            The same dict ``generate`` returns for one input.
        """
        if self._engine is None or self._engine.loop is None:
            raise LLMError(f"{self.type_name} LLM '{self.model}' is not loaded: call load() first")
        if self.use_offline_batch_generation:
            raise LLMError(f"{self.type_name} LLM '{self.model}' uses offline batch generation: call generate(), "
                           "which submits and collects batch jobs, instead of agenerate()")
        self.check_generation_kwargs(generation_kwargs)
        params = {**self.generation_kwargs, **generation_kwargs}
        schema = schema_of(structured_output)
        requests = [make_request(self.cache_identity(), input, params, schema, i) for i in range(num_generations)]
        future = asyncio.run_coroutine_threadsafe(self._engine.arun(requests, active_store()), self._engine.loop)
        results = await asyncio.wrap_future(future)
        return group_results(results, 1, num_generations, raw_responses)[0]

    def _classify_redacted(self, exc: BaseException) -> Failure:
        failure = classify_http_error(exc)
        key = self.api_key.get_secret_value() if self.api_key else os.environ.get(self.api_key_env)
        if key and key in failure.message:
            failure.message = failure.message.replace(key, "***")
        return failure

    # ---- backend specifics -----------------------------------------------------------------
    def _make_client(self, key: str) -> Any:
        raise NotImplementedError

    async def _send(self, request: Request) -> Result:
        raise NotImplementedError


def _close_with(engine: RequestEngine, client: Any) -> None:
    try:
        engine.call(client.close)
    except Exception:  # noqa: BLE001 - closing is best effort
        pass


def classify_http_error(exc: BaseException) -> Failure:
    """Classify an exception from an openai/anthropic-style SDK (both are generated by Stainless).

    429, 408/409, 5xx, timeouts and connection errors are retryable; other HTTP errors (401, 400, 404)
    are not: retrying a wrong key or a bad request cannot help.
    """
    name = type(exc).__name__
    status = getattr(exc, "status_code", None)
    message = f"{name}: {exc}"
    if status is not None:
        message = f"HTTP {status} {name}: {_short(exc)}"
        retry_after = _retry_after(getattr(exc, "response", None))
        retryable = status in _RETRYABLE_STATUS or status >= 500
        return Failure(message, retryable, rate_limited=status == 429, retry_after=retry_after)
    if "Timeout" in name or "Connection" in name or isinstance(exc, (TimeoutError, ConnectionError)):
        return Failure(message, retryable=True)
    return Failure(message, retryable=False)


def _short(exc: BaseException) -> str:
    text = str(exc)
    return text if len(text) <= 300 else text[:300] + "..."


def _retry_after(response: Any) -> float | None:
    headers = getattr(response, "headers", None)
    if headers is None:
        return None
    value = headers.get("retry-after-ms")
    if value is not None:
        try:
            return float(value) / 1000
        except ValueError:
            pass
    value = headers.get("retry-after")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
