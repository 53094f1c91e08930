"""``InferenceEndpointsLLM``: Hugging Face serverless inference, dedicated Inference Endpoints and TGI
servers, through their OpenAI-compatible chat completions routes."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from pydantic import PrivateAttr, model_validator

from synthgen.errors import ConfigError, LLMError, MissingDependencyError
from synthgen.fields import Fingerprint
from synthgen.llms.compatible import OpenAICompatibleLLM, with_v1

TGI_MODEL = "tgi"  # what TGI and dedicated endpoints take as the model: they serve one


class InferenceEndpointsLLM(OpenAICompatibleLLM):
    """One of three servers, chosen by which argument is given (distilabel's names):

    - ``model_id``: Hugging Face's serverless inference (``https://router.huggingface.co/v1``);
    - ``endpoint_name`` (and ``endpoint_namespace``): a dedicated Inference Endpoint, whose URL is
      looked up with ``huggingface_hub`` when the step loads;
    - ``base_url``: a TGI server or any OpenAI-compatible one (``/v1`` is added when missing); with
      ``model_id`` too, that model is asked for.

    Args:
        model_id: the Hub model, e.g. ``"meta-llama/Meta-Llama-3.1-8B-Instruct"``.
        endpoint_name / endpoint_namespace: a dedicated endpoint and its owner.
        base_url: a TGI or compatible server.
        tokenizer_id: accepted for distilabel's scripts; the chat route applies the server's template.
        model_display_name: the name written to ``model_name`` (default: the model or endpoint).
        api_key: defaults to ``$HF_TOKEN``.

    Raises:
        ConfigError: none or both of ``model_id`` and ``endpoint_name`` without a ``base_url``, or
            ``endpoint_name`` with ``base_url``.
    """

    type_name: ClassVar[str] = "inference_endpoints"
    api_key_env: ClassVar[str] = "HF_TOKEN"
    default_base_url: ClassVar[str] = "https://router.huggingface.co/v1"

    model: str = ""
    model_id: str | None = None
    endpoint_name: str | None = None
    endpoint_namespace: str | None = None
    tokenizer_id: Annotated[str | None, Fingerprint.IGNORE] = None
    model_display_name: str | None = None

    _endpoint_url: str | None = PrivateAttr(default=None)

    @model_validator(mode="before")
    @classmethod
    def _one_server(cls, data: Any) -> Any:
        if not isinstance(data, dict) or data.get("model"):
            return data
        model_id, endpoint, base_url = data.get("model_id"), data.get("endpoint_name"), data.get("base_url")
        if endpoint and (model_id or base_url):
            raise ConfigError("InferenceEndpointsLLM: endpoint_name names a dedicated endpoint, which serves one "
                              "model at its own URL: drop model_id and base_url")
        if not (model_id or endpoint or base_url):
            raise ConfigError("InferenceEndpointsLLM needs model_id=... (serverless), endpoint_name=... "
                              "(a dedicated endpoint) or base_url=... (a TGI server)")
        return {**data, "model": model_id or TGI_MODEL}

    @property
    def model_name(self) -> str:
        return self.model_display_name or self.model_id or self.endpoint_name or self.resolved_base_url

    @property
    def resolved_base_url(self) -> str:
        if self.endpoint_name:
            return self._endpoint_url or f"https://{self._endpoint_label()}"  # looked up at load()
        return with_v1(self.base_url) if self.base_url else self.default_base_url

    def cache_identity(self) -> dict[str, Any]:
        if not self.endpoint_name:
            return super().cache_identity()
        # The endpoint's name, not its URL: the identity is known without asking the Hub.
        return {"backend": self.type_name, "host": self._endpoint_label(), "model": self.model}

    def load(self) -> None:
        if self.endpoint_name and self._endpoint_url is None:
            self._endpoint_url = endpoint_url(self.endpoint_name, self.endpoint_namespace, self._resolve_key())
        super().load()

    def _endpoint_label(self) -> str:
        return f"{self.endpoint_namespace or '-'}.{self.endpoint_name}.endpoints.huggingface"


def endpoint_url(name: str, namespace: str | None, token: str) -> str:
    """The OpenAI-compatible base URL of a dedicated Inference Endpoint.

    Raises:
        MissingDependencyError: ``huggingface_hub`` is not installed.
        LLMError: the endpoint cannot be found or is not running.
    """
    try:
        from huggingface_hub import get_inference_endpoint
    except ImportError:
        raise MissingDependencyError("huggingface_hub", "inference_endpoints") from None
    try:
        endpoint = get_inference_endpoint(name, namespace=namespace, token=token)
    except Exception as exc:  # noqa: BLE001 - the Hub client raises many kinds; the message is what counts
        raise LLMError(f"cannot find the Inference Endpoint '{name}' ({type(exc).__name__}: {exc}): check "
                       "endpoint_name, endpoint_namespace and HF_TOKEN") from None
    if not endpoint.url:
        raise LLMError(f"Inference Endpoint '{name}' has no URL (status: {endpoint.status}): resume it "
                       "and wait until it runs")
    return with_v1(endpoint.url)
