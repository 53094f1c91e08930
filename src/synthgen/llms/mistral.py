"""``MistralLLM``: Mistral's API through its OpenAI-compatible chat completions route."""

from __future__ import annotations

from typing import ClassVar

from synthgen.llms.compatible import OpenAICompatibleLLM, with_v1


class MistralLLM(OpenAICompatibleLLM):
    """Chat completions from Mistral (``https://api.mistral.ai/v1``).

    Args:
        model: e.g. ``"mistral-small-latest"``.
        api_key: defaults to ``$MISTRAL_API_KEY``.
        endpoint: distilabel's name for the server, e.g. ``"https://api.mistral.ai"`` (``/v1`` is added).
        base_url: the same, with ``/v1``; ``endpoint`` wins when both are given.
    """

    type_name: ClassVar[str] = "mistral"
    api_key_env: ClassVar[str] = "MISTRAL_API_KEY"
    default_base_url: ClassVar[str] = "https://api.mistral.ai/v1"

    endpoint: str | None = None

    @property
    def resolved_base_url(self) -> str:
        return with_v1(self.endpoint) if self.endpoint else super().resolved_base_url
