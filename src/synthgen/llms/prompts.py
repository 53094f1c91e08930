"""Chats as completion prompts, for base models that have no chat template.

A base model continues text, so a chat becomes a transcript in a fixed format, preceded by a short
example of that format, and generation stops where the next turn would begin.
"""

from __future__ import annotations

from synthgen.llms.requests import LLMInput

INSTRUCTION = "### Instruction:\n"
RESPONSE = "### Response:\n"
STOP_SEQUENCES = ("### Instruction:", "### Response:", "\n\n\n")
FEW_SHOT = (
    ("Name the three primary colors.", "Red, yellow and blue."),
)


def completion_prompt(input: LLMInput, few_shot: tuple[tuple[str, str], ...] = FEW_SHOT) -> str:
    """Render a chat (or a prompt) as a completion prompt ending where the answer should start."""
    if isinstance(input, str):
        return input
    parts: list[str] = []
    system = [m["content"] for m in input if m["role"] == "system"]
    if system:
        parts.append("\n".join(system) + "\n\n")
    for question, answer in few_shot:
        parts.append(f"{INSTRUCTION}{question}\n\n{RESPONSE}{answer}\n\n")
    for message in input:
        if message["role"] == "user":
            parts.append(f"{INSTRUCTION}{message['content']}\n\n")
        elif message["role"] == "assistant":
            parts.append(f"{RESPONSE}{message['content']}\n\n")
    parts.append(RESPONSE)
    return "".join(parts)
