"""OpenAI's wire format as plain data: request bodies and headers, answers as :class:`Result`.

Shared by the online client (:mod:`synthgen.llms.openai`) and the Batch API (:mod:`synthgen.llms.openai_batch`),
which sends the same bodies one per line of a file.
"""

from __future__ import annotations

import os
import re
from typing import Any

from synthgen.llms.params import openai_params
from synthgen.llms.requests import Request, Result
from synthgen.version import USER_AGENT


def chat_kwargs(model: str, request: Request, response_format: str = "json_schema") -> dict[str, Any]:
    """``chat.completions.create`` arguments; names OpenAI does not know travel in ``extra_body``.

    ``response_format`` says how the request's schema is sent: ``json_schema``, ``json_object`` or ``none``.
    """
    messages = request.input if isinstance(request.input, list) else [{"role": "user", "content": request.input}]
    kwargs: dict[str, Any] = {"model": model, "messages": messages, **openai_params(request.params)}
    if request.schema is not None and response_format == "json_schema":
        kwargs["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": schema_name(request.schema), "schema": request.schema},
        }
    elif request.schema is not None and response_format == "json_object":
        kwargs["response_format"] = {"type": "json_object", "schema": request.schema}
    return kwargs


def schema_name(schema: dict[str, Any]) -> str:
    """OpenAI takes a schema name of at most 64 letters, digits, ``_`` and ``-``."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", str(schema.get("title") or "output"))[:64]


def chat_body(model: str, request: Request, response_format: str = "json_schema") -> dict[str, Any]:
    """The request body on the wire (what a batch file line holds): ``extra_body`` merged in."""
    kwargs = chat_kwargs(model, request, response_format)
    return {**kwargs.pop("extra_body", {}), **kwargs}


def openai_headers(key: str) -> dict[str, str]:
    """Authorization, and the organization and project the SDK would read from the environment."""
    headers = {"Authorization": f"Bearer {key}", "User-Agent": USER_AGENT}
    for env, header in (("OPENAI_ORG_ID", "OpenAI-Organization"), ("OPENAI_PROJECT_ID", "OpenAI-Project")):
        if os.environ.get(env):
            headers[header] = os.environ[env]
    return headers


def completion_result(data: dict[str, Any]) -> Result:
    """A chat completion (as plain data) as a :class:`Result`; ``raw`` keeps the whole answer."""
    choices = data.get("choices") or []
    usage = data.get("usage") or {}
    message = (choices[0].get("message") or {}) if choices else {}
    return Result(
        message.get("content"),
        input_tokens=usage.get("prompt_tokens") or 0,
        output_tokens=usage.get("completion_tokens") or 0,
        raw=data,
    )


def prompt_body(model: str, request: Request) -> dict[str, Any]:
    """A ``/completions`` body: the raw prompt as it is, no chat template around it."""
    kwargs = {"model": model, "prompt": request.input, **openai_params(request.params)}
    return {**kwargs.pop("extra_body", {}), **kwargs}


def text_completion_result(data: dict[str, Any]) -> Result:
    """A text completion (as plain data) as a :class:`Result`; ``raw`` keeps the whole answer."""
    choices = data.get("choices") or []
    usage = data.get("usage") or {}
    return Result(
        choices[0].get("text") if choices else None,
        input_tokens=usage.get("prompt_tokens") or 0,
        output_tokens=usage.get("completion_tokens") or 0,
        raw=data,
    )
