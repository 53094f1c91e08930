"""Built-in steps: loaders, column operations, filtering, deduplication, formatting."""

from __future__ import annotations

from synthgen.plugins.hookspecs import hookimpl
from synthgen.plugins.registry import Registrar

STEPS: tuple[tuple[str, str], ...] = (
    ("load_data_from_dicts", "synthgen.steps.loaders:LoadDataFromDicts"),
    ("load_data_from_file_system", "synthgen.steps.loaders:LoadDataFromFileSystem"),
    ("load_data_from_hub", "synthgen.steps.loaders:LoadDataFromHub"),
    ("load_data_from_disk", "synthgen.steps.loaders:LoadDataFromDisk"),
    ("keep_columns", "synthgen.steps.columns:KeepColumns"),
    ("combine_outputs", "synthgen.steps.columns:CombineOutputs"),
    ("expand_columns", "synthgen.steps.columns:ExpandColumns"),
    ("group_columns", "synthgen.steps.columns:GroupColumns"),
    ("filter_rows", "synthgen.steps.filtering:FilterRows"),
    ("deduplicate_exact", "synthgen.steps.dedup:DeduplicateExact"),
    ("min_hash_dedup", "synthgen.steps.dedup:MinHashDedup"),
    ("format_text_generation_dpo", "synthgen.steps.formatting:FormatTextGenerationDPO"),
    ("format_text_generation_sft", "synthgen.steps.formatting:FormatTextGenerationSFT"),
    ("format_chat_generation_dpo", "synthgen.steps.formatting_chat:FormatChatGenerationDPO"),
    ("format_chat_generation_sft", "synthgen.steps.formatting_chat:FormatChatGenerationSFT"),
    ("merge_columns", "synthgen.steps.merge:MergeColumns"),
    ("truncate_text_column", "synthgen.steps.truncate:TruncateTextColumn"),
    ("data_sampler", "synthgen.steps.sampler:DataSampler"),
    ("embedding_dedup", "synthgen.steps.embedding_dedup:EmbeddingDedup"),
    ("deita_filtering", "synthgen.steps.deita:DeitaFiltering"),
    ("combine_columns", "synthgen.steps.columns:CombineColumns"),
    ("conversation_template", "synthgen.steps.conversation:ConversationTemplate"),
)
"""(registered name, ``module:Class``) of every built-in step, imported when a config names it."""


@hookimpl
def synthgen_register_steps(register: Registrar) -> None:
    for name, path in STEPS:
        register.add_step(path, name=name)
