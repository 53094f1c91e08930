"""Generation parameters: one vocabulary for users, each provider's names on the wire."""

from __future__ import annotations

from typing import Any

DEFAULT_MAX_NEW_TOKENS = 512
ANTHROPIC_PASSED = frozenset({"temperature", "top_p", "top_k", "metadata"})
# Portable names that some providers have no equivalent for: accepted everywhere, dropped where unknown.
PORTABLE = frozenset({"max_new_tokens", "temperature", "top_p", "stop", "seed"})
OPENAI_KNOWN = frozenset({
    "temperature", "top_p", "stop", "seed", "frequency_penalty", "presence_penalty", "logit_bias", "logprobs",
    "top_logprobs", "n", "response_format", "user", "max_tokens", "max_completion_tokens", "reasoning_effort",
    "service_tier", "metadata", "store", "prediction", "modalities", "verbosity",
})
# What OpenAI-compatible servers (vLLM, llama.cpp's server, TGI) add; anything else goes in `extra_body`.
COMPATIBLE_EXTRA = frozenset({
    "top_k", "min_p", "repetition_penalty", "min_tokens", "ignore_eos", "skip_special_tokens", "length_penalty",
    "best_of", "use_beam_search", "include_stop_str_in_output", "guided_json", "guided_choice", "guided_regex",
    "guided_grammar", "chat_template_kwargs",
})
OPENAI_ACCEPTED = OPENAI_KNOWN | PORTABLE | {"extra_body"}
ANTHROPIC_ACCEPTED = PORTABLE | ANTHROPIC_PASSED | {"max_tokens", "stop_sequences", "system", "frequency_penalty",
                                                    "presence_penalty"}


def openai_params(params: dict[str, Any]) -> dict[str, Any]:
    """``max_new_tokens`` becomes ``max_tokens``; unknown names go to the server in ``extra_body``."""
    known = OPENAI_KNOWN
    out: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for key, value in params.items():
        if key == "max_new_tokens":
            out["max_tokens"] = value
        elif key == "extra_body":  # the escape hatch for a server's own parameters
            extra.update(value or {})
        elif key in known:
            out[key] = value
        else:
            extra[key] = value
    if extra:
        out["extra_body"] = extra
    return out


def anthropic_params(params: dict[str, Any]) -> dict[str, Any]:
    """The Messages API's names: ``max_new_tokens`` becomes ``max_tokens`` (which Anthropic requires) and
    ``stop`` becomes ``stop_sequences``; ``system`` is left to :func:`synthgen.llms.anthropic.message_params`,
    which joins it with the chat's system messages."""
    out: dict[str, Any] = {"max_tokens": params.get("max_new_tokens", params.get("max_tokens", DEFAULT_MAX_NEW_TOKENS))}
    for key, value in params.items():
        if key in ("stop", "stop_sequences"):
            out["stop_sequences"] = [value] if isinstance(value, str) else list(value)
        elif key in ANTHROPIC_PASSED:
            out[key] = value
        # seed and penalties have no Anthropic equivalent: dropping them keeps one config for all backends
    return out


def stop_list(params: dict[str, Any]) -> list[str]:
    stop = params.get("stop") or []
    return [stop] if isinstance(stop, str) else list(stop)
