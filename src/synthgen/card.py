"""The dataset card: what pipeline made the data, with which models, at what token cost, and
which model and step fingerprint produced each generated column of each row."""

from __future__ import annotations

from typing import Any


def _models(steps: dict[str, Any], provenance: dict[str, Any]) -> dict[str, str]:
    # The provenance names the model the LLM really used (the embedded model has no `model` field).
    return {n: f"{s['llm'].get('type')}:{provenance.get(n, {}).get('model') or s['llm'].get('model') or 'default'}"
            for n, s in steps.items() if isinstance(s.get("llm"), dict)}


def hub_configs(distiset: Any) -> list[str]:
    """The card's ``configs:`` metadata for the Hub: one config per leaf, where ``Dataset.push_to_hub``
    put its Parquet files (``data/`` for ``default``, else a folder named after the config). Without
    it, uploading the card would hide every subset but one."""
    lines = ["configs:"]
    for config, dataset_dict in distiset.items():
        folder = "data" if config == "default" else config
        lines += [f"- config_name: {config}", "  data_files:"]
        lines += [f"  - split: {split}\n    path: {folder}/{split}-*" for split in dataset_dict]
    return lines


def _tokens(distiset: Any) -> dict[str, list[int]]:
    totals: dict[str, list[int]] = {}
    for dataset_dict in distiset.values():
        ds = dataset_dict["train"]
        if "synthgen_metadata" not in ds.column_names:
            continue
        for meta in ds["synthgen_metadata"]:
            for key, stats in (meta or {}).items():
                if key.startswith("statistics_") and isinstance(stats, dict):
                    acc = totals.setdefault(key.removeprefix("statistics_"), [0, 0])
                    acc[0] += sum(x or 0 for x in stats.get("input_tokens") or [])
                    acc[1] += sum(x or 0 for x in stats.get("output_tokens") or [])
        break  # leaves share upstream rows; count one leaf's metadata
    return totals


def _failures(failures: dict[str, dict[str, Any]]) -> list[str]:
    """The failed rows per step: they are in the data, with ``None`` outputs and ``error_<step>``."""
    if not failures:
        return []
    lines = ["", "## Failed rows", "",
             "These rows are in the data with `None` outputs; `synthgen_metadata.error_<step>` holds each error.", "",
             "| step | failed rows | of rows | first error |", "|---|---|---|---|"]
    for step, f in failures.items():
        first = (f["examples"][0]["error"] if f["examples"] else "").replace("|", "\\|").replace("\n", " ")
        lines.append(f"| {step} | {f['count']:,} | {f['rows']:,} | {first[:200]} |")
    return lines


def render_card(distiset: Any, for_hub: bool = False) -> str:
    """The card's Markdown; ``for_hub`` adds the ``configs:`` metadata the Hub reads the subsets from."""
    spec = (distiset.pipeline_yaml or {}).get("pipeline", {})
    steps: dict[str, Any] = spec.get("steps", {})
    lines = ["---", "tags: [synthetic, synthgen]", *(hub_configs(distiset) if for_hub else []), "---", "",
             f"# {spec.get('name', 'synthgen dataset')}", ""]
    if spec.get("description"):
        lines += [spec["description"], ""]
    lines += ["Generated with [synthgen](https://github.com/synthgen/synthgen).", "", "## Subsets", ""]
    lines += [f"- `{k}`: {len(v['train']):,} rows, columns {', '.join(v['train'].column_names)}" for k, v in distiset.items()]
    lines += ["", "## Pipeline and provenance", "",
              "Every row's generated columns come from the step, model and step fingerprint below (a row's cache",
              "key includes its step's fingerprint, so no row of this dataset was made by other settings).", "",
              "| step | type | model | fingerprint | columns |", "|---|---|---|---|---|"]
    provenance = (distiset.pipeline_yaml or {}).get("provenance", {})
    models = _models(steps, provenance)
    real = {column for dataset_dict in distiset.values() for column in dataset_dict["train"].column_names}
    for name, s in steps.items():
        prov = provenance.get(name, {})
        # Only columns the data has: a step may declare outputs it leaves out, or a later step drops them.
        cols = ", ".join(c for c in prov.get("columns", []) if c in real)
        lines.append(f"| {name} | {s.get('type')} | {models.get(name, '')} | {prov.get('fingerprint', '')[:12]} | {cols} |")
    lines += ["", "Connections: " + ", ".join(f"{c['from']} → {c['to']}" for c in spec.get("connections", []))]
    lines += _failures(getattr(distiset, "failures", None) or {})
    tokens = _tokens(distiset)
    if tokens:
        lines += ["", "## Tokens", "", "| step | input tokens | output tokens |", "|---|---|---|"]
        lines += [f"| {s} | {i:,} | {o:,} |" for s, (i, o) in tokens.items()]
    lines += ["", "Per row, `synthgen_metadata` records for every LLM step `<step>` the model that wrote its columns",
              "(`model_name_<step>`), its token counts (`statistics_<step>`) and its error, if any (`error_<step>`);",
              "`pipeline.yaml` beside this card reruns the pipeline exactly (`synthgen pipeline run --config pipeline.yaml`).", ""]
    return "\n".join(lines)
