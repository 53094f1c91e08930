"""``EvolComplexityGenerator``: EvolInstructGenerator with the in-depth mutations only (Deita's
complexity evolution), so instructions get harder without drifting to other topics.

distilabel's output column: ``instruction``.
"""

from __future__ import annotations

from pydantic import Field

from synthgen.tasks.evol_complexity import IN_DEPTH_MUTATIONS
from synthgen.tasks.evol_instruct import builtin_mutation_templates
from synthgen.tasks.evol_instruct_generator import EvolInstructGenerator


class EvolComplexityGenerator(EvolInstructGenerator):
    """Generate ``num_rows`` instructions and evolve each with the in-depth mutations (constraints,
    deepen, concretizing, increase_reasoning); every EvolInstructGenerator parameter applies.

    Outputs: ``instruction``, ``model_name``.
    """

    mutation_templates: dict[str, str] = Field(default_factory=lambda: builtin_mutation_templates(IN_DEPTH_MUTATIONS))
