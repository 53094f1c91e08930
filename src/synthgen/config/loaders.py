"""Pointing a built-in pipeline's loader at a Hub dataset with one override.

The built-in pipelines read their bundled seed file through ``load_data_from_file_system``. A user who
overrides ``pipeline.steps.load.repo_id=org/name`` means "read this Hub dataset instead": the loader
becomes ``load_data_from_hub`` and the file-only parameters are dropped, so the override works without
first deleting the step (``~pipeline.steps.load``) and adding another.
"""

from __future__ import annotations

from typing import Any

FILES, HUB = "load_data_from_file_system", "load_data_from_hub"
_KEPT = ("name", "batch_size", "input_mappings", "output_mappings", "resources", "use_cache",
         "repo_id", "config", "split", "revision", "streaming", "num_examples")


def retarget_loaders(spec: dict[str, Any]) -> dict[str, Any]:
    """Turn each file loader given a ``repo_id`` into a Hub loader (in place; returns ``spec``).

    ``num_rows`` (the seed-file row limit the built-in pipelines expose) becomes ``num_examples``.
    """
    for name, params in (spec.get("steps") or {}).items():
        if isinstance(params, dict) and params.get("type") == FILES and params.get("repo_id"):
            hub = {key: params[key] for key in _KEPT if key in params}
            if "num_examples" not in hub and params.get("num_rows") is not None:
                hub["num_examples"] = params["num_rows"]
            spec["steps"][name] = {"type": HUB, **hub}
    return spec
