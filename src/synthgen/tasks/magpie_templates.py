"""Chat formats for Magpie: how a conversation is written out, up to the start of the next turn.

Magpie sends an instruct model the text its chat template puts before a user message (the pre-query
template) and lets it write that message itself. Multi-turn conversations need the whole format, so a
template here is the full turn layout of a model family, not just the pre-query string.
"""

from __future__ import annotations

from dataclasses import dataclass

from synthgen.errors import ConfigError


@dataclass(frozen=True)
class ChatFormat:
    """The turn layout of a model family.

    Args:
        bos: text at the very start.
        turn: a turn's opening, with ``{role}`` in it.
        end: what closes a turn.
        roles: renamed roles (Gemma calls the assistant ``model``).
        system_role: whether a system turn exists; if not, the system prompt opens the first user turn.
    """

    bos: str
    turn: str
    end: str
    roles: tuple[tuple[str, str], ...] = ()
    system_role: bool = True

    def opening(self, role: str) -> str:
        """The text that opens a turn of ``role``: the prompt ends here for the model to write it."""
        return self.turn.format(role=dict(self.roles).get(role, role))

    def render(self, messages: list[dict[str, str]], next_role: str) -> str:
        """``messages`` written out, then the opening of a ``next_role`` turn."""
        messages, carried = self._fold_system(messages)
        turns = "".join(self.opening(m["role"]) + m["content"] + self.end for m in messages)
        return self.bos + turns + self.opening(next_role) + carried

    @property
    def stop(self) -> list[str]:
        """Where a turn ends: its closing token, or the opening of another turn."""
        return [self.end.strip(), self.turn.split("{role}")[0]]

    def _fold_system(self, messages: list[dict[str, str]]) -> tuple[list[dict[str, str]], str]:
        # Without a system role the system prompt opens the first user turn: the one being written
        # when there is none yet (then it is carried after the opening of that turn).
        if self.system_role or not messages or messages[0]["role"] != "system":
            return messages, ""
        system, rest = messages[0]["content"], messages[1:]
        if not rest:
            return [], f"{system}\n\n"
        return [{"role": rest[0]["role"], "content": f"{system}\n\n{rest[0]['content']}"}, *rest[1:]], ""


CHAT_FORMATS: dict[str, ChatFormat] = {
    "llama3": ChatFormat(bos="<|begin_of_text|>", turn="<|start_header_id|>{role}<|end_header_id|>\n\n",
                         end="<|eot_id|>"),
    "chatml": ChatFormat(bos="", turn="<|im_start|>{role}\n", end="<|im_end|>\n"),
    "gemma": ChatFormat(bos="<bos>", turn="<start_of_turn>{role}\n", end="<end_of_turn>\n",
                        roles=(("assistant", "model"),), system_role=False),
}
CHAT_FORMATS["qwen2"] = CHAT_FORMATS["chatml"]  # distilabel's name for the same layout (Qwen, SmolLM2)


def chat_format(name: str) -> ChatFormat:
    """The named chat format.

    Raises:
        ConfigError: the name is unknown (the message lists the known ones).
    """
    try:
        return CHAT_FORMATS[name]
    except KeyError:
        raise ConfigError(f"Magpie template '{name}' is unknown. Choose one of: {', '.join(CHAT_FORMATS)} "
                          "(llama3 for Llama 3.x, chatml or qwen2 for Qwen and SmolLM2, gemma for Gemma)") from None
