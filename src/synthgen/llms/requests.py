"""Requests and results: the unit the engine sends, caches and retries.

A request is one (input, sample index) pair. Its key is a stable hash of everything that decides the
answer (backend, base URL host, model, messages, generation parameters, structured-output schema and
sample index) and never of secrets or engine knobs, so the same request is answered from the store in
this run, a resumed run, or another pipeline.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypedDict, Union

from synthgen.hashing import stable_hash
from synthgen.store import Store

ChatType = list[dict[str, str]]


class RawPrompt(str):
    """A prompt to send to the model exactly as it is, with no chat template around it.

    A plain ``str`` input may be wrapped (an OpenAI-compatible backend sends it as a user message); a
    ``RawPrompt`` goes to a completion endpoint as it is, on backends whose ``supports_raw_prompt`` is
    true. It compares as the same text; its request key differs from the plain text's (another endpoint,
    another answer).
    """

    __slots__ = ()


LLMInput = Union[ChatType, str]
REQUESTS_KIND = "requests"


class GenerateOutput(TypedDict, total=False):
    generations: list[str | None]
    statistics: dict[str, list[int]]
    errors: list[str | None]
    raw_responses: list[dict[str, Any] | None]


@dataclass(frozen=True)
class Request:
    """One completion to produce: a chat or a prompt, its parameters and its sample index."""

    input: LLMInput
    params: dict[str, Any]
    schema: dict[str, Any] | None
    sample: int
    key: str


@dataclass
class Result:
    """What came back for one request: ``text`` is ``None`` when it failed (``error`` says why)."""

    text: str | None
    input_tokens: int = 0
    output_tokens: int = 0
    error: str | None = None
    cached: bool = field(default=False, compare=False)
    raw: dict[str, Any] | None = field(default=None, compare=False)
    """The backend's whole answer as plain data (kept in the request cache with the text, so asking for
    raw responses later never sends a request again)."""

    def record(self) -> dict[str, Any]:
        record: dict[str, Any] = {"text": self.text, "input_tokens": self.input_tokens,
                                  "output_tokens": self.output_tokens}
        if self.raw is not None:
            record["raw"] = self.raw
        return record


def make_request(identity: dict[str, Any], input: LLMInput, params: dict[str, Any],
                 schema: dict[str, Any] | None, sample: int) -> Request:
    """Build a request and its canonical cache key."""
    keyed = {**identity, "input": input, "params": params, "schema": schema, "sample": sample}
    if isinstance(input, RawPrompt):
        keyed["raw_prompt"] = True  # sent without a chat template: another answer than the same text in one
    key = stable_hash(keyed)
    return Request(input=input, params=params, schema=schema, sample=sample, key=key)


def cached_result(store: Store | None, request: Request) -> Result | None:
    """The stored answer to ``request``, or ``None`` (no store outside a run: no caching)."""
    if store is None or (store.fresh_requests and request.key not in store.refreshed):
        return None
    record = store.get_record(REQUESTS_KIND, request.key,
                              consequence="the LLM request will be sent again, and paid for again")
    if not isinstance(record, dict) or record.get("text") is None:
        return None
    return Result(record["text"], int(record.get("input_tokens", 0)), int(record.get("output_tokens", 0)),
                  cached=True, raw=record.get("raw"))


def keeps(result: Result) -> bool:
    """Whether ``result`` is recorded: a new answer (failures are retried, not cached)."""
    return result.text is not None and not result.cached


def store_result(store: Store | None, request: Request, result: Result, sync: bool = True) -> None:
    """Record a successful answer as soon as it arrives. ``sync=False`` hands it to the operating system
    only (a killed process loses nothing; a power cut may): :func:`sync_result` makes it durable."""
    if store is not None and keeps(result):
        store.put_record(REQUESTS_KIND, request.key, result.record(), sync=sync)
        if store.fresh_requests:
            store.refreshed.add(request.key)


def sync_result(store: Store | None, request: Request, result: Result) -> None:
    """Make an answer recorded with ``sync=False`` durable (fsync).

    Raises:
        FileNotFoundError: it is not there (its write failed, or the cache was cleared since).
    """
    if store is not None and keeps(result):
        store.sync_record(REQUESTS_KIND, request.key)


def store_results(store: Store, results: dict[str, Result]) -> None:
    """Record many answers at once (the results of an offline batch job), keyed by request key."""
    answered = {key: r.record() for key, r in results.items() if r.text is not None}
    store.put_records(REQUESTS_KIND, answered)
    if store.fresh_requests:
        store.refreshed.update(answered)


def group_results(results: list[Result], num_inputs: int, num_generations: int,
                  raw_responses: bool = False) -> list[GenerateOutput]:
    """Regroup per-request results into one output dict per input (with ``raw_responses`` if asked)."""
    outputs: list[GenerateOutput] = []
    for i in range(num_inputs):
        chunk = results[i * num_generations:(i + 1) * num_generations]
        out: GenerateOutput = {
            "generations": [r.text for r in chunk],
            "statistics": {"input_tokens": [r.input_tokens for r in chunk],
                           "output_tokens": [r.output_tokens for r in chunk]},
        }
        if any(r.error for r in chunk):
            out["errors"] = [r.error for r in chunk]
        if raw_responses:
            out["raw_responses"] = [r.raw for r in chunk]
        outputs.append(out)
    return outputs


def prompt_text(input: LLMInput) -> str:
    """All text of an input, for token estimates and test replies."""
    if isinstance(input, str):
        return input
    return "\n".join(str(m.get("content", "")) for m in input)


def estimate_tokens(request: Request) -> int:
    """A rough token count (4 characters a token plus the output allowance) for tokens-per-minute."""
    max_new = request.params.get("max_new_tokens") or 256
    return len(prompt_text(request.input)) // 4 + int(max_new)
