"""Dataclass schemas of the config groups, stored in Hydra's ConfigStore as ``base_<group>``.

Every option YAML starts with ``defaults: [base_<group>, _self_]``, so a misspelt key or a value of the
wrong type fails at composition with Hydra's own message naming the key and the file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from omegaconf import MISSING


@dataclass
class LLMConf:
    """An LLM backend: ``type`` is its registered name; unset (None) fields keep the backend's default."""

    type: str = MISSING
    model: Optional[str] = None
    generation_kwargs: dict[str, Any] = field(default_factory=dict)
    base_url: Optional[str] = None
    use_offline_batch_generation: Optional[bool] = None
    offline_batch_generation_block_until_done: Optional[float] = None
    resubmit_failed: Optional[bool] = None
    # Only as an interpolation such as ${oc.env:MY_KEY}: Hydra records the unresolved text and
    # pipeline.yaml never holds secrets, so the key itself is written nowhere.
    api_key: Optional[str] = None
    # Backend-specific settings; None means "the backend's default".
    model_path: Optional[str] = None
    embedded: Optional[str] = None
    n_ctx: Optional[int] = None
    n_gpu_layers: Optional[int] = None
    n_threads: Optional[int] = None
    chat_format: Optional[str] = None
    seed: Optional[int] = None
    max_concurrency: Optional[int] = None
    requests_per_minute: Optional[int] = None
    tokens_per_minute: Optional[int] = None
    timeout: Optional[float] = None
    max_retries: Optional[int] = None
    max_tokens_budget: Optional[int] = None
    circuit_breaker_threshold: Optional[int] = None
    rate_limit_patience: Optional[float] = None
    tensor_parallel_size: Optional[int] = None
    dtype: Optional[str] = None
    chat_template: Optional[str] = None
    extra_kwargs: Optional[dict[str, Any]] = None
    structured_output: Optional[str] = None  # openai: auto | json_schema | json_object | none
    # Parameters of a plugin backend that this schema does not name; passed to the backend as they are.
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class PipelineConf:
    """A pipeline: steps by name (``type`` + parameters) and their connections."""

    name: str = MISSING
    description: Optional[str] = None
    steps: dict[str, Any] = field(default_factory=dict)
    connections: list[Any] = field(default_factory=list)
    load_groups: Optional[Any] = None


@dataclass
class StepResourcesConf:
    replicas: int = 1
    cpus: Optional[int] = None
    gpus: Optional[int] = None
    memory: Optional[int] = None


@dataclass
class ResourcesConf:
    """Replicas and GPUs: for steps with an ``llm``, for the others, and per step name."""

    llm_steps: StepResourcesConf = field(default_factory=StepResourcesConf)
    other_steps: StepResourcesConf = field(default_factory=StepResourcesConf)
    steps: dict[str, StepResourcesConf] = field(default_factory=dict)


@dataclass
class RunnerConf:
    """Where step replicas run: ``local`` (multiprocessing) or ``ray``."""

    type: str = "local"
    address: Optional[str] = None


@dataclass
class Config:
    """The top-level config composed by ``python -m synthgen``."""

    pipeline: PipelineConf = MISSING
    llm: LLMConf = MISSING
    resources: ResourcesConf = field(default_factory=ResourcesConf)
    runner: RunnerConf = field(default_factory=RunnerConf)
    cache_dir: Optional[str] = None
    use_cache: bool = True
    retry_failed: bool = True
    max_failed_fraction: float = 0.5
    num_rows: Optional[int] = None
    save_dir: Optional[str] = None


GROUP_SCHEMAS: dict[str, type] = {
    "pipeline": PipelineConf,
    "llm": LLMConf,
    "resources": ResourcesConf,
    "runner": RunnerConf,
}


def register_configs() -> None:
    """Store ``base_config`` and every ``base_<group>`` schema in Hydra's ConfigStore (idempotent)."""
    from hydra.core.config_store import ConfigStore

    store = ConfigStore.instance()
    store.store(name="base_config", node=Config)
    for group, schema in GROUP_SCHEMAS.items():
        store.store(group=group, name=f"base_{group}", node=_open_steps(schema) if group == "pipeline" else schema)


def _open_steps(schema: type) -> Any:
    """The pipeline schema with ``steps`` open to new keys.

    Step parameters are checked by the step classes themselves (with a did-you-mean), so
    ``pipeline.steps.load.repo_id=...`` or replacing a whole step needs no ``+`` prefix.
    """
    from omegaconf import OmegaConf

    node = OmegaConf.structured(schema)
    OmegaConf.set_struct(node.steps, False)
    return node
