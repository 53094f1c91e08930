"""Deterministic answers shaped like real model output, for the built-in tasks' prompts.

``OpenAITestServer(reply_fn=shaped_reply)`` (or Anthropic's) answers an UltraFeedback judge with rated
sections, a Prometheus judge with feedback and a result, Magpie's raw prompts with a question or an
answer, a SelfInstruct prompt with a numbered list of queries, an EvolInstruct prompt with a rewritten
instruction, and anything else with a short answer, so a whole built-in pipeline runs end to end with
meaningful rows: ratings that differ, DPO pairs that exist, instructions to expand.
"""

from __future__ import annotations

import hashlib
import math
import re
from typing import Any

_TEXTS = re.compile(r"^<text (\d+)>", re.MULTILINE)
_QUERIES = re.compile(r"Develop (\d+) user queries")
_GIVEN = re.compile(r"#The Given Prompt#:\s*\n(.*?)\n\s*#(?:Rewritten|Created) Prompt#", re.DOTALL)
_CONTEXT = re.compile(r"# Context\s*\n(.*?)\n\s*#", re.DOTALL)
# A raw prompt that ends on the opening of a turn (Magpie): Llama 3, ChatML or Gemma layout (Gemma carries
# the system prompt after the opening).
_OPEN_TURN = re.compile(r"(?:<\|start_header_id\|>|<\|im_start\|>|<start_of_turn>)(?:(?P<user>user)|assistant|model)"
                        r"(?:<\|end_header_id\|>\n\n|\n)[^<]*$")
_TURN_TEXT = re.compile(r"(?:<\|end_header_id\|>\n\n|<\|im_start\|>user\n|<start_of_turn>user\n)([^<]+)")


def shaped_reply(body: dict[str, Any]) -> str:
    """The answer to an OpenAI chat/completions or Anthropic messages request body."""
    prompt = _prompt_of(body)
    if "prompt" in body and (match := _OPEN_TURN.search(prompt)):
        return _magpie_turn(prompt, match.group("user") is not None)
    if _TEXTS.search(prompt):
        return _judge(prompt)
    if "###Response to evaluate:" in prompt or "###Response A:" in prompt:
        return _prometheus(prompt)
    if match := _QUERIES.search(prompt):
        return _queries(int(match.group(1)), _first(_CONTEXT, prompt, "the topic"))
    if match := _GIVEN.search(prompt):
        return f"{match.group(1).strip()} Explain your reasoning step by step."
    last = prompt.strip().splitlines()[-1] if prompt.strip() else ""
    return f"Here is a short answer to: {last}"


def _judge(prompt: str) -> str:
    from synthgen.tasks.ultrafeedback import render_answer

    texts = sorted({int(n) for n in _TEXTS.findall(prompt)})
    # Ratings differ between responses (and between prompts), so DPO pairs have a chosen and a rejected.
    seed = int(hashlib.sha256(prompt.encode()).hexdigest()[:8], 16)
    ratings = [5 - (seed + i) % 5 for i in range(len(texts))]
    return "My evaluation follows.\n\n" + render_answer(ratings)


def _prometheus(prompt: str) -> str:
    from synthgen.tasks.prometheus_eval import render_answer

    seed = int(hashlib.sha256(prompt.encode()).hexdigest()[:8], 16)
    result: int | str = ("A", "B")[seed % 2] if "###Response A:" in prompt else 1 + seed % 5
    return render_answer("The response follows the rubric in most respects.", result)


def _magpie_turn(prompt: str, user: bool) -> str:
    # The answer names the question it answers, so a test can check the turns belong together.
    if user:
        return "How do tides work?"
    turns = [t.strip() for t in _TURN_TEXT.findall(prompt) if t.strip()]
    return f"Here is a short answer to: {turns[-1] if turns else 'nothing'}"


def _queries(count: int, context: str) -> str:
    topic = " ".join(context.split()[:6])
    return "\n".join(f"{i}. Question {i} about {topic}?" for i in range(1, count + 1))


def _first(pattern: re.Pattern[str], text: str, default: str) -> str:
    match = pattern.search(text)
    return match.group(1).strip() if match else default


def _prompt_of(body: dict[str, Any]) -> str:
    if "prompt" in body:
        prompt = body["prompt"]
        return prompt if isinstance(prompt, str) else "\n".join(prompt)
    parts = [_content(body.get("system", ""))] + [_content(m.get("content", "")) for m in body.get("messages", [])]
    return "\n".join(parts)


def _content(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "\n".join(b.get("text", "") for b in content if isinstance(b, dict))


def bag_of_words_vector(text: str, dimensions: int = 32) -> list[float]:
    """A deterministic unit vector of the text's words (case and punctuation ignored): texts with the same
    words embed the same, texts that share words are close, so dedup by cosine similarity can be tested."""
    vector = [0.0] * dimensions
    for word in re.findall(r"[a-z0-9]+", text.lower()):
        vector[int(hashlib.sha256(word.encode()).hexdigest()[:8], 16) % dimensions] += 1.0
    norm = math.sqrt(sum(v * v for v in vector)) or 1.0
    return [v / norm for v in vector]
