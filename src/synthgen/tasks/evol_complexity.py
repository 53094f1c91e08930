"""EvolComplexity: EvolInstruct with Deita's in-depth mutations only (no breadth), to make
instructions harder while keeping their topic.

distilabel's columns: input ``instruction``, output ``evolved_instruction`` (or
``evolved_instructions``), as EvolInstruct.
"""

from __future__ import annotations

from pydantic import Field

from synthgen.tasks.evol_instruct import EvolInstruct, builtin_mutation_templates

IN_DEPTH_MUTATIONS: tuple[str, ...] = ("constraints", "deepen", "concretizing", "increase_reasoning")


class EvolComplexity(EvolInstruct):
    """Evolve each row's ``instruction`` with the in-depth mutations (constraints, deepen, concretizing,
    increase_reasoning); every EvolInstruct parameter applies.

    Inputs: ``instruction``. Outputs: ``evolved_instruction`` (or ``evolved_instructions``), ``model_name``.
    """

    mutation_templates: dict[str, str] = Field(default_factory=lambda: builtin_mutation_templates(IN_DEPTH_MUTATIONS))
