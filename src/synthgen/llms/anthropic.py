"""``AnthropicLLM``: Claude models through the Messages API.

Messages go over synthgen's own JSON client (:mod:`synthgen.llms.http`), with a body built here from the
request, so an ``anthropic`` SDK release that changes ``messages.create``'s signature cannot break
generation. The SDK is used only for message batches (see :mod:`synthgen.llms.anthropic_batch`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from synthgen.llms.anthropic_wire import anthropic_headers, message_params, message_result
from synthgen.llms.api import APILLM, REQUEST_KEY_HEADER
from synthgen.llms.params import ANTHROPIC_ACCEPTED
from synthgen.llms.requests import Request, Result

if TYPE_CHECKING:
    from synthgen.llms.offline import BatchAPI



class AnthropicLLM(APILLM):
    """Messages from Anthropic (or a compatible server via ``base_url``).

    Structured output uses tool use: the schema is a tool the model is forced to call, and the tool's
    input is the parsed object.

    Args:
        model: model name, e.g. ``"claude-3-5-haiku-latest"``.
        api_key: defaults to ``$ANTHROPIC_API_KEY``.
        base_url: another server speaking the Messages API.
    """

    type_name: ClassVar[str] = "anthropic"
    required_package: ClassVar[tuple[str, str] | None] = ("anthropic", "anthropic")
    api_key_env: ClassVar[str] = "ANTHROPIC_API_KEY"
    base_url_env: ClassVar[str] = "ANTHROPIC_BASE_URL"
    default_base_url: ClassVar[str] = "https://api.anthropic.com"

    @property
    def supports_structured_output(self) -> bool:
        return True

    def accepted_generation_kwargs(self) -> frozenset[str]:
        return ANTHROPIC_ACCEPTED

    def _make_client(self, key: str) -> Any:
        from synthgen.llms.http import JSONClient

        return JSONClient(self.resolved_base_url, anthropic_headers(key), self.timeout)

    async def _send(self, request: Request) -> Result:
        data = await self._client.post("/v1/messages", message_params(self.model, request),
                                       headers={REQUEST_KEY_HEADER: request.key})
        return message_result(data)

    def _batch_api(self) -> BatchAPI:
        from synthgen.llms.anthropic_batch import AnthropicBatchAPI

        return AnthropicBatchAPI(self.model, self._sdk_client(), self.offline_batch_max_requests,
                                 self.offline_batch_max_bytes)

    async def _open_sdk(self, key: str) -> Any:
        from anthropic import AsyncAnthropic

        # Our engine owns retries (with Retry-After and a circuit breaker): the SDK must not retry too.
        return AsyncAnthropic(api_key=key, base_url=self.resolved_base_url, timeout=self.timeout, max_retries=0)
