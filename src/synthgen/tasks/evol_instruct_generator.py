"""``EvolInstructGenerator``: instructions from nothing, evolved with EvolInstruct's mutations.

Row ``i`` starts from a request built around a few seed words (picked with ``(seed, i)``), then goes
through ``num_evolutions`` mutations. distilabel's output column: ``instruction``.
"""

from __future__ import annotations

import random
from typing import Any

from pydantic import Field, field_validator, model_validator

from synthgen.errors import ConfigError
from synthgen.llms.requests import GenerateOutput, LLMInput
from synthgen.steps.base import GeneratorStepOutput
from synthgen.tasks._templates import load_template
from synthgen.tasks.base import METADATA_COLUMN
from synthgen.tasks.evol_instruct import (
    DEFAULT_MUTATIONS,
    builtin_mutation_templates,
    choose_mutation,
    parse_evolved,
    render_prompt,
)
from synthgen.tasks.evol_quality import Chain
from synthgen.tasks.generator import GeneratorTask

SEED_WORDS: tuple[str, ...] = (
    "algorithm", "budget", "climate", "database", "ecosystem", "fraction", "grammar", "history", "interest",
    "journey", "kitchen", "language", "marketing", "network", "ocean", "poetry", "quantum", "recipe",
    "statistics", "travel", "university", "vaccine", "weather", "yoga", "zoology", "architecture", "biology",
    "chemistry", "democracy", "economy", "friendship", "geometry", "health", "investment", "justice", "music",
    "nutrition", "philosophy", "robotics", "security", "teamwork", "volcano", "writing", "astronomy", "energy",
)


class EvolInstructGenerator(GeneratorTask):
    """Generate ``num_rows`` instructions and evolve each with EvolInstruct's mutations.

    Args:
        llm: the model that writes and rewrites the instructions.
        num_rows: instructions to generate (``num_instructions`` is accepted, as in distilabel).
        num_evolutions: in-depth mutation rounds after the first instruction.
        seed_words: the words first requests are built around; ``words_per_row`` are picked per row.
        mutation_templates: the mutations (names of bundled ones, or name -> template); all five
            EvolInstruct mutations by default.
        seed: picks the words and the mutations.

    Outputs: ``instruction``, ``model_name``.
    """

    num_evolutions: int = Field(default=1, ge=0)
    seed_words: list[str] = Field(default_factory=lambda: list(SEED_WORDS), min_length=1)
    words_per_row: int = Field(default=3, ge=1)
    mutation_templates: dict[str, str] = Field(default_factory=lambda: builtin_mutation_templates(DEFAULT_MUTATIONS))
    seed: int = 42

    @model_validator(mode="before")
    @classmethod
    def _num_instructions(cls, data: Any) -> Any:
        if isinstance(data, dict) and "num_instructions" in data:
            data = dict(data)
            if "num_rows" in data:
                raise ConfigError(f"{cls.__name__}: give num_rows or num_instructions, not both")
            data["num_rows"] = data.pop("num_instructions")
        return data

    @field_validator("mutation_templates", mode="before")
    @classmethod
    def _expand_names(cls, value: Any) -> Any:
        return builtin_mutation_templates(list(value)) if isinstance(value, (list, tuple)) else value

    @property
    def outputs(self) -> list[str]:
        return ["instruction", "model_name"]

    def first_prompt(self, row: int) -> list[dict[str, str]]:
        """The request that starts row ``row``: a question around seeded words."""
        rng = random.Random(f"{self.seed}:{row}")
        words = rng.sample(self.seed_words, min(self.words_per_row, len(self.seed_words)))
        return [{"role": "user", "content": load_template("evol_fresh_start.jinja2").render(words=words)}]

    def process(self, offset: int = 0) -> GeneratorStepOutput:
        ranges = self.batch_ranges(offset)
        if not ranges:
            yield [], True
        for start, stop in ranges:
            chains = self._evolve(list(range(start, stop)))
            yield [self._row(chain) for chain in chains], stop == self.num_rows

    def _evolve(self, rows: list[int]) -> list[Chain]:
        chains = [Chain(current=None) for _ in rows]
        self._round(rows, chains, [self.first_prompt(i) for i in rows], "fresh_start")
        for evolution in range(self.num_evolutions):
            live = [(i, c) for i, c in zip(rows, chains, strict=True) if c.current is not None]
            mutations = [choose_mutation(list(self.mutation_templates), self.seed, str(c.current), evolution)
                         for _, c in live]
            prompts = [[{"role": "user", "content": render_prompt(self.mutation_templates[m], str(c.current))}]
                       for (_, c), m in zip(live, mutations, strict=True)]
            self._round([i for i, _ in live], [c for _, c in live], prompts, mutations)
        return chains

    def _round(self, rows: list[int], chains: list[Chain], prompts: list[list[dict[str, str]]],
               mutations: list[str] | str) -> None:
        if not rows:
            return
        names = [mutations] * len(rows) if isinstance(mutations, str) else mutations
        inputs: list[LLMInput] = [chain.ask(prompt, name) for chain, prompt, name in zip(chains, prompts, names,
                                                                                          strict=True)]
        outputs = self.llm.generate(inputs, first_samples=rows)
        for chain, output in zip(chains, outputs, strict=True):
            chain.record(_parsed(output), output)

    def _row(self, chain: Chain) -> dict[str, Any]:
        meta = self.metadata(chain.prompts, chain.raw, chain.statistics, chain.error)
        meta[f"mutations_{self.name}"] = chain.mutations
        instruction = chain.evolved[-1] if chain.error is None and chain.evolved else None
        return {"instruction": instruction, "model_name": self.llm.model_name, METADATA_COLUMN: meta}


def _parsed(output: GenerateOutput) -> tuple[str | None, str | None]:
    text = output["generations"][0]
    evolved = parse_evolved(text)
    if evolved is not None:
        return evolved, None
    error = (output.get("errors") or [None])[0]
    return None, error or "the answer holds no instruction"
