"""``vLLM``: vLLM's in-process offline engine, on the GPUs assigned to the step's worker."""

from __future__ import annotations

import gc
from typing import Any, ClassVar

from pydantic import Field, PrivateAttr

from synthgen.llms.base import LLM
from synthgen.llms.params import DEFAULT_MAX_NEW_TOKENS
from synthgen.llms.requests import Request, Result

_SAMPLING = ("temperature", "top_p", "top_k", "min_p", "stop", "seed", "presence_penalty",
             "frequency_penalty", "repetition_penalty")


class vLLM(LLM):  # noqa: N801 - the project's name for it
    """Batched offline generation with ``vllm.LLM``.

    Args:
        model: a Hugging Face model id or local path.
        dtype: weights dtype (``"auto"``, ``"bfloat16"``, ...).
        tensor_parallel_size: GPUs to shard the model over.
        extra_kwargs: more ``vllm.LLM(...)`` arguments (``gpu_memory_utilization``, ``max_model_len``).
        chat_template: a Jinja chat template overriding the tokenizer's.
    """

    type_name: ClassVar[str] = "vllm"
    required_package: ClassVar[tuple[str, str] | None] = ("vllm", "vllm")

    model: str
    dtype: str = "auto"
    tensor_parallel_size: int = Field(default=1, ge=1)
    extra_kwargs: dict[str, Any] = Field(default_factory=dict)
    chat_template: str | None = None

    _engine: Any = PrivateAttr(default=None)

    @property
    def supports_structured_output(self) -> bool:
        return True

    def accepted_generation_kwargs(self) -> frozenset[str]:
        return frozenset({*_SAMPLING, "max_new_tokens"})

    @property
    def supports_raw_prompt(self) -> bool:
        return True  # a string is generated from as it is, without the chat template

    @property
    def model_name(self) -> str:
        return self.model

    def load(self) -> None:
        if self._engine is not None:
            return
        import vllm

        self._engine = vllm.LLM(**self.engine_kwargs())

    def engine_kwargs(self) -> dict[str, Any]:
        """``vllm.LLM(...)`` arguments. In a Ray placement group (a step with ``gpus=k`` and
        ``tensor_parallel_size=k`` on the Ray runner) vLLM's Ray executor shards over its bundles."""
        kwargs = {"model": self.model, "dtype": self.dtype, "tensor_parallel_size": self.tensor_parallel_size,
                  **self.extra_kwargs}
        if self.tensor_parallel_size > 1 and "distributed_executor_backend" not in kwargs and _in_placement_group():
            kwargs["distributed_executor_backend"] = "ray"
        return kwargs

    def unload(self) -> None:
        """Drop the engine and give its GPU memory back."""
        engine, self._engine = self._engine, None
        del engine
        gc.collect()
        try:
            import torch
        except ImportError:
            return
        if torch.cuda.is_available():
            torch.cuda.empty_cache()

    def _generate_requests(self, requests: list[Request]) -> list[Result]:
        if self._engine is None:
            self.load()
        from vllm import SamplingParams

        prompts = [self._prompt(r.input) for r in requests]
        params = [SamplingParams(**self._sampling_kwargs(r)) for r in requests]
        outputs = self._engine.generate(prompts, params, use_tqdm=False)
        return [_result(out) for out in outputs]

    def _prompt(self, input: Any) -> str:
        if isinstance(input, str):
            return input
        tokenizer = self._engine.get_tokenizer()
        return tokenizer.apply_chat_template(input, tokenize=False, add_generation_prompt=True,
                                             chat_template=self.chat_template)

    def _sampling_kwargs(self, request: Request) -> dict[str, Any]:
        kwargs = {k: v for k, v in request.params.items() if k in _SAMPLING}
        kwargs["max_tokens"] = request.params.get("max_new_tokens", DEFAULT_MAX_NEW_TOKENS)
        if "seed" in kwargs:
            kwargs["seed"] += request.sample  # distinct samples of one prompt
        if request.schema is not None:
            kwargs.update(_guided(request.schema))
        return kwargs


def _in_placement_group() -> bool:
    import sys

    if "ray" not in sys.modules:  # never import ray only to learn that we are not on it
        return False
    import ray
    from ray.util import get_current_placement_group

    # Not initialized: not a Ray worker (and asking would start a local Ray instance).
    return bool(ray.is_initialized()) and get_current_placement_group() is not None


def _guided(schema: dict[str, Any]) -> dict[str, Any]:
    """Guided JSON decoding: ``structured_outputs`` in vLLM >= 0.10, ``guided_decoding`` before."""
    from vllm import sampling_params

    if hasattr(sampling_params, "StructuredOutputsParams"):
        return {"structured_outputs": sampling_params.StructuredOutputsParams(json=schema)}
    return {"guided_decoding": sampling_params.GuidedDecodingParams(json=schema)}


def _result(output: Any) -> Result:
    completion = output.outputs[0]
    prompt_ids, token_ids = list(output.prompt_token_ids or []), list(completion.token_ids or [])
    raw = {"text": completion.text, "prompt_token_ids": prompt_ids, "token_ids": token_ids,
           "finish_reason": getattr(completion, "finish_reason", None),
           "cumulative_logprob": getattr(completion, "cumulative_logprob", None)}
    return Result(completion.text, input_tokens=len(prompt_ids), output_tokens=len(token_ids), raw=raw)
