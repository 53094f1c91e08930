"""EvolInstruct: make instructions harder (in depth) or rarer (in breadth), one LLM round per evolution.

Which mutation a row gets in a round is a hash of ``(seed, instruction, evolution index)``: the same
seed gives the same dataset whatever the batch size, batch order, number of replicas or global random
state, and adding rows never changes the mutations of the rows already there.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

import jinja2
from jinja2 import meta
from pydantic import Field, field_validator

from synthgen.errors import ConfigError
from synthgen.llms.requests import GenerateOutput, LLMInput
from synthgen.steps.base import StepInput, StepOutput
from synthgen.tasks._templates import read_template_source, template_environment, template_from_string
from synthgen.tasks.base import METADATA_COLUMN, Task

DEFAULT_MUTATIONS: tuple[str, ...] = ("constraints", "deepen", "concretizing", "increase_reasoning", "breadth")

# Labels the model may echo before its answer, and markers after which a base model starts a new prompt.
_ANSWER_LABEL = re.compile(r"^\s*#?\s*(?:Rewritten|Created)\s+Prompt\s*#?\s*:?\s*", re.IGNORECASE)
_NEXT_PROMPT = re.compile(
    r"^\s*#\s*(?:The\s+)?(?:Given|Rewritten|Created)\s+Prompt\s*#", re.IGNORECASE | re.MULTILINE
)


def builtin_mutation_templates(names: tuple[str, ...] | list[str] = DEFAULT_MUTATIONS) -> dict[str, str]:
    """Name -> Jinja2 source of the bundled mutations ``names``.

    Raises:
        ConfigError: a name is not a bundled mutation.
    """
    unknown = [name for name in names if name not in DEFAULT_MUTATIONS]
    if unknown:
        raise ConfigError(
            f"EvolInstruct mutation '{unknown[0]}' is not bundled. Bundled mutations: "
            f"{', '.join(DEFAULT_MUTATIONS)}; or pass a mapping name -> template using {{{{ instruction }}}}"
        )
    return {name: read_template_source(f"evol_instruct_{name}.jinja2") for name in names}


def check_mutation_template(name: str, source: str) -> None:
    """Fail early on a mutation template that does not compile or never uses ``{{ instruction }}``.

    Raises:
        ConfigError: naming the mutation and what is wrong with it.
    """
    env = template_environment()
    try:
        parsed = env.parse(source)
    except jinja2.TemplateSyntaxError as exc:
        raise ConfigError(f"EvolInstruct mutation template '{name}' is not valid Jinja2: {exc}") from None
    # find_referenced_templates: a bundled mutation extends a layout that holds the placeholder.
    if "instruction" not in meta.find_undeclared_variables(parsed) and not list(
        meta.find_referenced_templates(parsed)
    ):
        raise ConfigError(
            f"EvolInstruct mutation template '{name}' never uses {{{{ instruction }}}}: "
            "add it where the instruction to evolve should appear"
        )


def choose_mutation(names: list[str], seed: int, instruction: str, evolution: int) -> str:
    """The mutation for one row in one round: a stable hash, independent of batches and global RNG.

    ``names`` are sorted first so that the order a config lists them in does not matter.
    """
    key = f"{seed}\x1f{evolution}\x1f{instruction}".encode()
    index = int.from_bytes(hashlib.sha256(key).digest()[:8], "big") % len(names)
    return sorted(names)[index]


def render_prompt(source: str, instruction: str) -> str:
    """The mutation prompt ``source`` applied to ``instruction``."""
    return template_from_string(source).render(instruction=instruction)


def parse_evolved(text: str | None) -> str | None:
    """The evolved instruction in a model answer, or ``None`` when it failed or is empty.

    An echoed ``#Rewritten Prompt#:`` label is dropped, and so is anything from a following
    ``#The Given Prompt#`` marker on (a base model continuing with a new example).
    """
    if text is None:
        return None
    text = _ANSWER_LABEL.sub("", text.strip(), count=1)
    text = _NEXT_PROMPT.split(text, maxsplit=1)[0]
    return text.strip() or None


class EvolInstruct(Task):
    """Evolve each row's ``instruction`` ``num_evolutions`` times with randomly chosen mutations.

    Args:
        llm: the model that rewrites instructions.
        num_evolutions: rounds of mutation; each round rewrites the previous round's result.
        store_evolutions: output every round (``evolved_instructions``) instead of the last one.
        mutation_templates: name -> Jinja2 prompt using ``{{ instruction }}``, or a list of bundled
            mutation names; defaults to constraints, deepen, concretizing, increase_reasoning, breadth.
        seed: picks the mutations (with the instruction and the round), so runs are reproducible.

    Inputs: ``instruction``. Outputs: ``evolved_instruction`` (or ``evolved_instructions``), ``model_name``.
    """

    num_evolutions: int = Field(default=1, ge=1)
    num_generations: int = Field(default=1, ge=1, le=1)  # one chain per row: rounds rewrite the last answer
    store_evolutions: bool = False
    mutation_templates: dict[str, str] = Field(default_factory=builtin_mutation_templates)
    seed: int = 42

    @field_validator("mutation_templates", mode="before")
    @classmethod
    def _expand_names(cls, value: Any) -> Any:
        if isinstance(value, (list, tuple)):
            value = builtin_mutation_templates(list(value))
        if isinstance(value, dict):
            if not value:
                raise ConfigError("EvolInstruct needs at least one mutation template; got an empty mapping")
            for name, source in value.items():
                check_mutation_template(str(name), str(source))
        return value

    @property
    def inputs(self) -> list[str]:
        return ["instruction"]

    @property
    def outputs(self) -> list[str]:
        column = "evolved_instructions" if self.store_evolutions else "evolved_instruction"
        return [column, "model_name"]

    def mutation_for(self, instruction: str, evolution: int) -> str:
        """The mutation name applied to ``instruction`` in round ``evolution`` (0-based)."""
        return choose_mutation(list(self.mutation_templates), self.seed, instruction, evolution)

    def format_input(
        self, row: dict[str, Any], evolution: int = 0, current: str | None = None
    ) -> list[dict[str, str]]:
        """The mutation chat for ``row`` in round ``evolution``, applied to ``current`` (default: the
        row's own instruction)."""
        name = self.mutation_for(row["instruction"], evolution)
        instruction = row["instruction"] if current is None else current
        return [{"role": "user", "content": render_prompt(self.mutation_templates[name], instruction)}]

    def format_output(self, text: str | None, row: dict[str, Any]) -> dict[str, Any]:
        """One round's answer as ``{"evolved_instruction": ...}``.

        Raises:
            ValueError: the answer holds no instruction (recorded as the row's error).
        """
        evolved = parse_evolved(text)
        if evolved is None and text is not None:
            raise ValueError("the answer holds no evolved instruction")
        return {"evolved_instruction": evolved}

    def process(self, *inputs: StepInput) -> StepOutput:
        """Evolve the batch round by round: one ``llm.generate`` call per evolution for all live rows.

        A row whose round fails stops evolving; its later rounds are ``None`` and the error is recorded.
        """
        rows = inputs[0] if inputs else []
        chains = [_Chain(row["instruction"]) for row in rows]
        for evolution in range(self.num_evolutions):
            live = [(row, chain) for row, chain in zip(rows, chains, strict=True) if chain.current is not None]
            if not live:
                break
            prompts: list[LLMInput] = [self._round_prompt(row, chain, evolution) for row, chain in live]
            outputs = self.llm.generate(prompts, num_generations=1)
            for (row, chain), output in zip(live, outputs, strict=True):
                chain.record(*self._round_result(row, output))
        yield [self._row_for(row, chain) for row, chain in zip(rows, chains, strict=True)]

    def _round_prompt(self, row: dict[str, Any], chain: _Chain, evolution: int) -> list[dict[str, str]]:
        chain.mutations.append(self.mutation_for(row["instruction"], evolution))
        prompt = self.format_input(row, evolution, chain.current)
        chain.prompts.append(prompt)
        return prompt

    def _round_result(self, row: dict[str, Any], output: GenerateOutput) -> tuple[str | None, str | None, Any, dict]:
        text = output["generations"][0]
        error = (output.get("errors") or [None])[0]
        stats = {k: v[0] for k, v in output["statistics"].items()}
        columns, parse_error = self._parse(text, error, row)
        return columns.get("evolved_instruction"), parse_error, text, stats

    def _row_for(self, row: dict[str, Any], chain: _Chain) -> dict[str, Any]:
        rounds = chain.evolved + [None] * (self.num_evolutions - len(chain.evolved))
        column = {"evolved_instructions": rounds} if self.store_evolutions else {"evolved_instruction": rounds[-1]}
        meta = self._metadata(row, chain.prompts, chain.raw, chain.statistics, chain.error)
        meta[f"mutations_{self.name}"] = chain.mutations
        return {**row, **column, "model_name": self.llm.model_name, METADATA_COLUMN: meta}


@dataclass
class _Chain:
    """One row's evolution so far: each round's prompt, raw answer, result and token counts."""

    current: str | None
    evolved: list[str | None] = field(default_factory=list)
    mutations: list[str] = field(default_factory=list)
    prompts: list[Any] = field(default_factory=list)
    raw: list[str | None] = field(default_factory=list)
    statistics: dict[str, list[int]] = field(default_factory=lambda: {"input_tokens": [], "output_tokens": []})
    error: str | None = None

    def record(self, evolved: str | None, error: str | None, raw: str | None, stats: dict[str, int]) -> None:
        self.evolved.append(evolved)
        self.raw.append(raw)
        for key, value in stats.items():
            self.statistics.setdefault(key, []).append(value)
        self.current = evolved
        if error is not None:
            self.error = f"evolution {len(self.evolved)}: {error}"
