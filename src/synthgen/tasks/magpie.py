"""Magpie: instructions (and conversations) from nothing but an instruct model's own chat template.

The model gets the text its template puts before a user message (see :mod:`synthgen.tasks.magpie_templates`)
and writes the user message itself; then, as usual, the answer. That needs a prompt sent as it is, with
no chat template around it: llama.cpp, vLLM, or an OpenAI-compatible server's ``/completions``.

distilabel's columns: ``instruction`` (``only_instruction``), ``instruction`` and ``response``
(``n_turns`` = 1), or ``conversation`` (several turns); ``system_prompt_key`` when system prompts are
named; optional input column ``system_prompt``. Every row is its own request (its sample index), so rows
that send the same template get different instructions and a rerun gets the same ones from the cache.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, Field, model_validator

from synthgen.errors import ConfigError
from synthgen.llms.base import LLM
from synthgen.llms.params import stop_list
from synthgen.llms.requests import GenerateOutput, LLMInput, RawPrompt
from synthgen.steps.base import GeneratorStepOutput, StepInput, StepOutput
from synthgen.tasks.base import METADATA_COLUMN, Task
from synthgen.tasks.generator import GeneratorTask
from synthgen.tasks.magpie_templates import ChatFormat, chat_format

SystemPrompts = str | list[str] | dict[str, str | tuple[str, float]] | None


@dataclass
class Dialogue:
    """One row's conversation so far, with what each call sent and got back."""

    system: str | None
    key: str | None
    sample: int
    messages: list[dict[str, str]] = field(default_factory=list)
    prompts: list[Any] = field(default_factory=list)
    raw: list[str | None] = field(default_factory=list)
    statistics: dict[str, list[int]] = field(default_factory=lambda: {"input_tokens": [], "output_tokens": []})
    error: str | None = None

    def chat(self) -> list[dict[str, str]]:
        """The conversation with the system prompt first (what the model sees)."""
        return ([{"role": "system", "content": self.system}] if self.system else []) + self.messages

    def record(self, role: str, output: GenerateOutput, stops: list[str]) -> None:
        """Add the model's turn, or the error that ends the conversation."""
        text = output["generations"][0]
        self.raw.append(text)
        for key, values in output["statistics"].items():
            self.statistics.setdefault(key, []).extend(values)
        turn = clean_turn(text, stops)
        if turn is None:
            error = (output.get("errors") or [None])[0]
            self.error = f"turn {len(self.messages) + 1} ({role}): {error or 'the model wrote an empty turn'}"
            return
        self.messages.append({"role": role, "content": turn})


def clean_turn(text: str | None, stops: Iterable[str]) -> str | None:
    """The turn's text up to the first stop marker (a server may not honour ``stop``), or ``None``."""
    if text is None:
        return None
    for stop in stops:
        if stop:
            text = text.split(stop, 1)[0]
    return text.strip() or None


class MagpieSettings(BaseModel):
    """What Magpie and MagpieGenerator share.

    Args:
        template: the model family's chat format: ``llama3`` (the default, as distilabel's),
            ``chatml``/``qwen2`` (Qwen, SmolLM2) or ``gemma``.
        n_turns: user/assistant exchanges per conversation.
        end_with_user: end the conversation on a user turn (no last answer).
        include_system_prompt: put the system prompt first in ``conversation``.
        only_instruction: write just the first user message (``instruction``).
        system_prompt: one, a list (one is picked per row), or name -> prompt or ``(prompt, weight)``
            (picked by weight; the name goes to ``system_prompt_key``). Picks are seeded per row.
        seed: seeds the picks of system prompts.
    """

    template: str = "llama3"
    n_turns: int = Field(default=1, ge=1)
    end_with_user: bool = False
    include_system_prompt: bool = False
    only_instruction: bool = False
    system_prompt: SystemPrompts = None
    seed: int = 42

    @model_validator(mode="after")
    def _check_settings(self) -> MagpieSettings:
        chat_format(self.template)  # raises ConfigError listing the formats
        if self.end_with_user and self.n_turns == 1 and not self.only_instruction:
            raise ConfigError("Magpie: end_with_user with n_turns=1 writes only the instruction: "
                              "set only_instruction=true instead")
        llm = getattr(self, "llm", None)
        if llm is not None and not getattr(llm, "supports_raw_prompt", False):
            raise ConfigError(
                f"Magpie needs a backend that sends a raw prompt (llamacpp, vllm, or openai with the base_url of "
                f"an OpenAI-compatible server); the {llm.registered_name()} backend for '{llm.model_name}' cannot"
            )
        return self

    @property
    def chat_format(self) -> ChatFormat:
        """The turn layout named by ``template``."""
        return chat_format(self.template)

    def magpie_outputs(self) -> list[str]:
        """The output columns for these settings."""
        if self.only_instruction:
            columns = ["instruction"]
        else:
            columns = ["instruction", "response"] if self.n_turns == 1 else ["conversation"]
        return [*columns, *(["system_prompt_key"] if isinstance(self.system_prompt, dict) else []), "model_name"]

    def pick_system_prompt(self, sample: int) -> tuple[str | None, str | None]:
        """``(prompt, name)`` for row ``sample``: the same pick on every run and in every batch."""
        options = self.system_prompt
        if options is None or isinstance(options, str):
            return options, None
        rng = random.Random(f"{self.seed}:{sample}")
        if isinstance(options, list):
            return (rng.choice(options), None) if options else (None, None)
        names = list(options)
        weights = [value[1] if isinstance(value, tuple) else 1.0 for value in options.values()]
        name = rng.choices(names, weights=weights)[0]
        value = options[name]
        return (value[0] if isinstance(value, tuple) else value), name

    def roles_to_write(self) -> list[str]:
        """The roles of the turns to generate, in order."""
        if self.only_instruction:
            return ["user"]
        roles = ["user", "assistant"] * self.n_turns
        return roles[:-1] if self.end_with_user else roles

    def converse(self, llm: LLM, dialogues: list[Dialogue]) -> None:
        """Write every dialogue's turns: one ``generate`` call per turn for all live dialogues."""
        fmt = self.chat_format
        stops = stop_list(llm.generation_kwargs) + fmt.stop
        for role in self.roles_to_write():
            live = [d for d in dialogues if d.error is None]
            if not live:
                return
            prompts: list[LLMInput] = [RawPrompt(fmt.render(d.chat(), role)) for d in live]
            for dialogue, prompt in zip(live, prompts, strict=True):
                dialogue.prompts.append(str(prompt))
            outputs = llm.generate(prompts, first_samples=[d.sample for d in live], stop=stops)
            for dialogue, output in zip(live, outputs, strict=True):
                dialogue.record(role, output, stops)

    def columns(self, dialogue: Dialogue) -> dict[str, Any]:
        """The output columns of one dialogue (``None`` where its turns were not written)."""
        turns = [m["content"] for m in dialogue.messages]
        columns: dict[str, Any] = {}
        if self.only_instruction or self.n_turns == 1:
            columns["instruction"] = turns[0] if turns else None
            if not self.only_instruction:
                columns["response"] = turns[1] if len(turns) > 1 else None
        else:
            system = self.include_system_prompt and dialogue.system
            messages = dialogue.chat() if system else dialogue.messages
            columns["conversation"] = None if dialogue.error else messages
        if isinstance(self.system_prompt, dict):
            columns["system_prompt_key"] = dialogue.key
        return columns


def occurrence_samples(rows: list[dict[str, Any]]) -> list[int]:
    """Per row, how many identical rows came before it in the batch: identical rows get different samples."""
    seen: dict[str, int] = {}
    samples = []
    for row in rows:
        digest = hashlib.sha256(json.dumps(row, sort_keys=True, default=str).encode()).hexdigest()
        samples.append(seen.get(digest, 0))
        seen[digest] = samples[-1] + 1
    return samples


class Magpie(MagpieSettings, Task):
    """Write an instruction (and a conversation) for each input row; see :class:`MagpieSettings`.

    A row's ``system_prompt`` column, when present and not ``None``, is its system prompt. Identical rows
    in one batch get different conversations; for many rows from nothing use :class:`MagpieGenerator`.

    Inputs: optional ``system_prompt``. Outputs: see the module docstring.
    """

    @property
    def inputs(self) -> dict[str, bool]:
        return {"system_prompt": False}

    @property
    def outputs(self) -> list[str]:
        return self.magpie_outputs()

    def format_input(self, row: dict[str, Any]) -> LLMInput:
        """The first prompt sent for ``row``: its system prompt, then the opening of a user turn."""
        return RawPrompt(self.chat_format.render(self._dialogue(row, 0).chat(), "user"))

    def process(self, *inputs: StepInput) -> StepOutput:
        rows = inputs[0] if inputs else []
        dialogues = [self._dialogue(row, sample) for row, sample in zip(rows, occurrence_samples(rows), strict=True)]
        self.converse(self.llm, dialogues)
        yield [self._row(row, d) for row, d in zip(rows, dialogues, strict=True)]

    def _dialogue(self, row: dict[str, Any], sample: int) -> Dialogue:
        if row.get("system_prompt") is not None:
            return Dialogue(str(row["system_prompt"]), None, sample)
        return Dialogue(*self.pick_system_prompt(sample), sample)

    def _row(self, row: dict[str, Any], dialogue: Dialogue) -> dict[str, Any]:
        meta = self._metadata(row, dialogue.prompts, dialogue.raw, dialogue.statistics, dialogue.error)
        return {**row, **self.columns(dialogue), "model_name": self.llm.model_name, METADATA_COLUMN: meta}


class MagpieGenerator(MagpieSettings, GeneratorTask):
    """Write ``num_rows`` instructions (or conversations) from nothing; see :class:`MagpieSettings`.

    Row ``i`` is sample ``i`` of its prompt, so the rows differ, and a resumed or repeated run gets the
    same rows from the request cache.

    Outputs: see the module docstring.
    """

    @property
    def outputs(self) -> list[str]:
        return self.magpie_outputs()

    def process(self, offset: int = 0) -> GeneratorStepOutput:
        ranges = self.batch_ranges(offset)
        if not ranges:
            yield [], True
        for start, stop in ranges:
            dialogues = [Dialogue(*self.pick_system_prompt(i), i) for i in range(start, stop)]
            self.converse(self.llm, dialogues)
            yield [self._row(d) for d in dialogues], stop == self.num_rows

    def _row(self, dialogue: Dialogue) -> dict[str, Any]:
        meta = self.metadata(dialogue.prompts, dialogue.raw, dialogue.statistics, dialogue.error)
        return {**self.columns(dialogue), "model_name": self.llm.model_name, METADATA_COLUMN: meta}
