"""Built-in tasks: steps that call an LLM."""

from __future__ import annotations

from synthgen.plugins.hookspecs import hookimpl
from synthgen.plugins.registry import Registrar

TASKS: tuple[tuple[str, str], ...] = (
    ("text_generation", "synthgen.tasks:TextGeneration"),
    ("chat_generation", "synthgen.tasks:ChatGeneration"),
    ("ultra_feedback", "synthgen.tasks.ultrafeedback:UltraFeedback"),
    ("self_instruct", "synthgen.tasks.self_instruct:SelfInstruct"),
    ("evol_instruct", "synthgen.tasks.evol_instruct:EvolInstruct"),
    ("prometheus_eval", "synthgen.tasks.prometheus_eval:PrometheusEval"),
    ("quality_scorer", "synthgen.tasks.quality_scorer:QualityScorer"),
    ("complexity_scorer", "synthgen.tasks.complexity_scorer:ComplexityScorer"),
    ("evol_quality", "synthgen.tasks.evol_quality:EvolQuality"),
    ("evol_complexity", "synthgen.tasks.evol_complexity:EvolComplexity"),
    ("text_classification", "synthgen.tasks.text_classification:TextClassification"),
    ("generate_sentence_pair", "synthgen.tasks.generate_sentence_pair:GenerateSentencePair"),
    ("clair", "synthgen.tasks.clair:CLAIR"),
    ("instruction_backtranslation", "synthgen.tasks.instruction_backtranslation:InstructionBacktranslation"),
    ("genstruct", "synthgen.tasks.genstruct:Genstruct"),
    ("structured_generation", "synthgen.tasks.structured_generation:StructuredGeneration"),
    ("magpie", "synthgen.tasks.magpie:Magpie"),
    ("magpie_generator", "synthgen.tasks.magpie:MagpieGenerator"),
    ("evol_complexity_generator", "synthgen.tasks.evol_complexity_generator:EvolComplexityGenerator"),
    ("embedding_generation", "synthgen.tasks.embedding_generation:EmbeddingGeneration"),
    ("generate_embeddings", "synthgen.tasks.embedding_generation:GenerateEmbeddings"),
    ("evol_instruct_generator", "synthgen.tasks.evol_instruct_generator:EvolInstructGenerator"),
)
"""(registered name, ``module:Class``) of every built-in task."""


@hookimpl
def synthgen_register_steps(register: Registrar) -> None:
    for name, path in TASKS:
        register.add_step(path, name=name)
