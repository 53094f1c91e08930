"""EvolQuality: make responses better, one LLM round per evolution (Deita's quality evolution).

distilabel's columns: inputs ``instruction`` and ``response``; output ``evolved_response`` (or
``evolved_responses`` with ``store_evolutions``). As in EvolInstruct, the mutation a row gets in a round
is a hash of ``(seed, instruction, response, round)``, so datasets reproduce whatever the batching.
"""

from __future__ import annotations

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
from synthgen.tasks.evol_instruct import choose_mutation

MUTATIONS: tuple[str, ...] = ("helpfulness", "relevance", "deepening", "creativity", "details")

_ANSWER_LABEL = re.compile(r"^\s*#?\s*Rewritten\s+Response\s*#?\s*:?\s*", re.IGNORECASE)
# A base model that goes on to write the next example starts a new "#Given Prompt#" section.
_NEXT_SECTION = re.compile(r"^\s*#\s*Given\s+(?:Prompt|Response)\s*#", re.IGNORECASE | re.MULTILINE)


def builtin_mutation_templates(names: tuple[str, ...] | list[str] = MUTATIONS) -> dict[str, str]:
    """Name -> Jinja2 source of the bundled mutations ``names``.

    Raises:
        ConfigError: a name is not a bundled mutation.
    """
    unknown = [name for name in names if name not in MUTATIONS]
    if unknown:
        raise ConfigError(f"EvolQuality mutation '{unknown[0]}' is not bundled. Bundled mutations: "
                          f"{', '.join(MUTATIONS)}; or pass a mapping name -> template using "
                          "{{ instruction }} and {{ response }}")
    return {name: read_template_source(f"evol_quality_{name}.jinja2") for name in names}


def check_mutation_template(name: str, source: str) -> None:
    """Fail early on a template that does not compile or never shows the response.

    Raises:
        ConfigError: naming the mutation and what is wrong with it.
    """
    try:
        parsed = template_environment().parse(source)
    except jinja2.TemplateSyntaxError as exc:
        raise ConfigError(f"EvolQuality mutation template '{name}' is not valid Jinja2: {exc}") from None
    if "response" not in meta.find_undeclared_variables(parsed) and not list(meta.find_referenced_templates(parsed)):
        raise ConfigError(f"EvolQuality mutation template '{name}' never uses {{{{ response }}}}: "
                          "add it where the response to rewrite should appear")


def parse_evolved(text: str | None) -> str | None:
    """The rewritten response in an answer (an echoed label and a following example dropped), or ``None``."""
    if text is None:
        return None
    text = _ANSWER_LABEL.sub("", text.strip(), count=1)
    return _NEXT_SECTION.split(text, maxsplit=1)[0].strip() or None


class EvolQuality(Task):
    """Rewrite each row's ``response`` to its ``instruction`` ``num_evolutions`` times.

    Args:
        llm: the model that rewrites responses.
        num_evolutions: rounds; each rewrites the previous round's response.
        store_evolutions: output every round (``evolved_responses``) instead of the last one.
        include_original_response: with ``store_evolutions``, put the original response first.
        mutation_templates: name -> Jinja2 prompt using ``{{ instruction }}`` and ``{{ response }}``, or
            a list of bundled names (helpfulness, relevance, deepening, creativity, details: the default).
        seed: picks the mutations, so runs are reproducible.

    Inputs: ``instruction``, ``response``. Outputs: ``evolved_response`` (or ``evolved_responses``),
    ``model_name``. A round that fails or answers nothing stops that row; later rounds are ``None``.
    """

    num_evolutions: int = Field(default=1, ge=1)
    num_generations: int = Field(default=1, ge=1, le=1)  # one chain per row: rounds rewrite the last answer
    store_evolutions: bool = False
    include_original_response: bool = False
    mutation_templates: dict[str, str] = Field(default_factory=builtin_mutation_templates)
    seed: int = 42

    @field_validator("mutation_templates", mode="before")
    @classmethod
    def _expand_names(cls, value: Any) -> Any:
        if isinstance(value, (list, tuple)):
            value = builtin_mutation_templates(list(value))
        if isinstance(value, dict):
            if not value:
                raise ConfigError("EvolQuality needs at least one mutation template; got an empty mapping")
            for name, source in value.items():
                check_mutation_template(str(name), str(source))
        return value

    @property
    def inputs(self) -> list[str]:
        return ["instruction", "response"]

    @property
    def outputs(self) -> list[str]:
        return ["evolved_responses" if self.store_evolutions else "evolved_response", "model_name"]

    def mutation_for(self, row: dict[str, Any], evolution: int) -> str:
        """The mutation applied to ``row`` in round ``evolution`` (0-based)."""
        key = f"{row['instruction']}\x1f{row['response']}"
        return choose_mutation(list(self.mutation_templates), self.seed, key, evolution)

    def format_input(self, row: dict[str, Any], evolution: int = 0, current: str | None = None) -> list[dict[str, str]]:
        """The rewriting chat for ``row`` in round ``evolution``, applied to ``current`` (default: the
        row's own response)."""
        source = self.mutation_templates[self.mutation_for(row, evolution)]
        response = row["response"] if current is None else current
        return [{"role": "user", "content": template_from_string(source).render(
            instruction=row["instruction"], response=response)}]

    def format_output(self, text: str, row: dict[str, Any]) -> dict[str, Any]:
        """One round's answer as ``{"evolved_response": ...}``.

        Raises:
            ValueError: the answer holds no response (recorded as the row's error).
        """
        evolved = parse_evolved(text)
        if evolved is None:
            raise ValueError("the answer holds no rewritten response")
        return {"evolved_response": evolved}

    def process(self, *inputs: StepInput) -> StepOutput:
        """Evolve the batch round by round: one ``llm.generate`` call per round for all live rows."""
        rows = inputs[0] if inputs else []
        chains = [Chain(row["response"]) for row in rows]
        for evolution in range(self.num_evolutions):
            live = [(row, chain) for row, chain in zip(rows, chains, strict=True) if chain.current is not None]
            if not live:
                break
            prompts: list[LLMInput] = [
                chain.ask(self.format_input(row, evolution, chain.current), self.mutation_for(row, evolution))
                for row, chain in live]
            for (row, chain), output in zip(live, self.llm.generate(prompts), strict=True):
                chain.record(self._round(row, output), output)
        yield [self._row_for(row, chain) for row, chain in zip(rows, chains, strict=True)]

    def _round(self, row: dict[str, Any], output: GenerateOutput) -> tuple[str | None, str | None]:
        error = (output.get("errors") or [None])[0]
        columns, parse_error = self._parse(output["generations"][0], error, row)
        return columns.get("evolved_response"), parse_error

    def _row_for(self, row: dict[str, Any], chain: Chain) -> dict[str, Any]:
        rounds = chain.evolved + [None] * (self.num_evolutions - len(chain.evolved))
        if self.store_evolutions:
            column: dict[str, Any] = {"evolved_responses": ([row["response"]] if self.include_original_response
                                                            else []) + rounds}
        else:
            column = {"evolved_response": rounds[-1]}
        meta_ = self._metadata(row, chain.prompts, chain.raw, chain.statistics, chain.error)
        meta_[f"mutations_{self.name}"] = chain.mutations
        return {**row, **column, "model_name": self.llm.model_name, METADATA_COLUMN: meta_}


@dataclass
class Chain:
    """One row's rounds so far: prompts, mutations, raw answers, results, token counts, first error."""

    current: str | None
    evolved: list[str | None] = field(default_factory=list)
    mutations: list[str] = field(default_factory=list)
    prompts: list[Any] = field(default_factory=list)
    raw: list[str | None] = field(default_factory=list)
    statistics: dict[str, list[int]] = field(default_factory=lambda: {"input_tokens": [], "output_tokens": []})
    error: str | None = None

    def ask(self, prompt: list[dict[str, str]], mutation: str) -> list[dict[str, str]]:
        """Record the round's prompt and mutation, and return the prompt."""
        self.prompts.append(prompt)
        self.mutations.append(mutation)
        return prompt

    def record(self, result: tuple[str | None, str | None], output: GenerateOutput) -> None:
        """Record the round's answer; a failed round ends the chain."""
        evolved, error = result
        self.evolved.append(evolved)
        self.raw.append(output["generations"][0])
        for key, values in output["statistics"].items():
            self.statistics.setdefault(key, []).extend(values)
        self.current = evolved
        if error is not None:
            self.error = f"evolution {len(self.evolved)}: {error}"
