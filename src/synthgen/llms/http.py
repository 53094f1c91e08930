"""A lean JSON-over-HTTP client for the hot path of API backends (one POST per request).

Why not the provider SDK: on a 2-core client the openai SDK spends ~1.9 ms of CPU per chat completion
(request building, httpx, pydantic models of the response), which caps one process near 300 requests/s
before any of synthgen's own work; aiohttp (already installed through ``datasets``' fsspec[http]) spends
~0.2 ms. The SDKs stay for everything else (batch files and jobs), where requests are few.

Errors are raised as the SDKs name them (``RateLimitError``, ``InternalServerError``,
``APIConnectionError``, ``APITimeoutError``), with ``status_code`` and ``response.headers``, so
:func:`synthgen.llms.api.classify_http_error` treats both alike.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import urlparse
from urllib.request import getproxies, proxy_bypass

_STATUS_NAMES = {400: "BadRequestError", 401: "AuthenticationError", 403: "PermissionDeniedError",
                 404: "NotFoundError", 409: "ConflictError", 422: "UnprocessableEntityError",
                 429: "RateLimitError"}


class APIStatusError(Exception):
    """The server answered with an error status; ``response.headers`` carries ``Retry-After``."""

    def __init__(self, status_code: int, body: str, response: Any) -> None:
        super().__init__(f"Error code: {status_code} - {body}")
        self.status_code = status_code
        self.response = response


class APIConnectionError(ConnectionError):
    """The server could not be reached, or closed the connection before answering."""


class APITimeoutError(TimeoutError):
    """No complete answer within the request timeout."""


def status_error(status: int, body: str, response: Any) -> APIStatusError:
    """An :class:`APIStatusError` subclass named as the SDKs name that status."""
    name = _STATUS_NAMES.get(status, "InternalServerError" if status >= 500 else "APIStatusError")
    cls = type(name, (APIStatusError,), {})
    return cls(status, body, response)


def proxy_for(url: str) -> str | None:
    """The proxy ``HTTP(S)_PROXY`` names for ``url``, unless ``NO_PROXY`` exempts its host (as httpx,
    under the SDKs, decides)."""
    parsed = urlparse(url)
    proxy = getproxies().get(parsed.scheme)
    if proxy is None or (parsed.hostname and proxy_bypass(parsed.hostname)):
        return None
    return proxy


class JSONClient:
    """POSTs JSON bodies to ``base_url`` + path and returns the decoded JSON answer.

    Create and use it on one event loop (the request engine's): its connection pool belongs to that
    loop. The engine bounds concurrency, so the pool does not.

    Args:
        base_url: e.g. ``"https://api.openai.com/v1"``.
        headers: sent with every request (authorization, organization).
        timeout: seconds for a whole request, connection included.
    """

    def __init__(self, base_url: str, headers: dict[str, str], timeout: float) -> None:
        import aiohttp

        self.base_url = base_url.rstrip("/")
        self._proxy = proxy_for(self.base_url)
        # Not trust_env: aiohttp would then read the proxy variables and ~/.netrc again on a thread for
        # every request (a third of the client's time); the proxy is resolved once instead.
        self._session = aiohttp.ClientSession(
            headers=headers, timeout=aiohttp.ClientTimeout(total=timeout),
            connector=aiohttp.TCPConnector(limit=0), json_serialize=json.dumps,
        )

    async def post(self, path: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> dict[str, Any]:
        """POST ``body`` as JSON; the answer's JSON object.

        Raises:
            APIStatusError: the server answered with a status of 400 or more (or not with JSON).
            APIConnectionError: no connection, or it dropped mid-answer.
            APITimeoutError: the request took longer than the timeout.
        """
        import aiohttp

        try:
            async with self._session.post(self.base_url + path, json=body, headers=headers,
                                          proxy=self._proxy) as response:
                raw = await response.read()
                if response.status >= 400:
                    raise status_error(response.status, raw[:2000].decode(errors="replace"), response)
        except asyncio.TimeoutError as exc:
            raise APITimeoutError(f"no answer within the timeout from {self.base_url}") from exc
        except aiohttp.ClientConnectionError as exc:
            raise APIConnectionError(f"connection to {self.base_url} failed: {exc}") from exc
        try:
            data = json.loads(raw)
        except ValueError:
            raise status_error(502, f"the answer is not JSON: {raw[:200]!r}", response) from None
        if not isinstance(data, dict):
            raise status_error(502, f"the answer is not a JSON object: {raw[:200]!r}", response)
        return data

    async def close(self) -> None:
        await self._session.close()
