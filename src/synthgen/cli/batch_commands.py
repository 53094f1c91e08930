"""``synthgen batch status|cancel <pipeline>``: the offline batch jobs a pending pipeline waits on.

The jobs are those the pipeline's last pending run recorded in its cache folder; the LLM that talks to
the provider is rebuilt from the folder's pipeline.yaml (the API key comes from the environment).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from synthgen.errors import CacheError
from synthgen.pipeline import Pipeline

Action = Callable[[Any, list[str]], str]


def status(args: argparse.Namespace) -> int:
    """Print each pending job's state."""
    def show(llm: Any, jobs: list[str]) -> str:
        return "\n".join(f"  {job}: {state}" for job, state in llm.offline_batch_jobs_status(jobs).items())

    print(_for_each_step(args, show))
    return 0


def cancel(args: argparse.Namespace) -> int:
    """Cancel the pending jobs; the next run collects what they finished (the rest get errors)."""
    def stop(llm: Any, jobs: list[str]) -> str:
        llm.cancel_offline_batch_jobs(jobs)
        return f"  cancelled {len(jobs)} job(s): {', '.join(jobs)}"

    print(_for_each_step(args, stop) + "\nRun the pipeline again to collect what the jobs finished before they stopped.")
    return 0


def _for_each_step(args: argparse.Namespace, action: Action) -> str:
    pipeline, jobs = _pending(args.target, args.cache_dir)
    lines = []
    for step, ids in jobs.items():
        llm = pipeline.steps[step].llm  # type: ignore[attr-defined]
        llm.load()
        try:
            lines.append(f"{step} ({llm.type_name} LLM '{llm.model_name}'):\n{action(llm, ids)}")
        finally:
            llm.unload()
    return "\n".join(lines)


def _pending(target: str, cache_dir: str | None) -> tuple[Pipeline, dict[str, list[str]]]:
    from synthgen.cli.pipeline_commands import load_spec
    from synthgen.config.build import build_pipeline
    from synthgen.runner.cache_commands import cache_root, find_pipeline_dir
    from synthgen.runner.journal import Journal

    root = cache_root(cache_dir)
    pdir = find_pipeline_dir(target, root)
    jobs = {step: ids for step, ids in Journal(pdir).offline_jobs().items() if ids}
    if not jobs:
        raise CacheError(f"pipeline '{pdir.parent.name}' has no pending offline batch jobs in {pdir}")
    spec = load_spec(pdir / "pipeline.yaml")
    return build_pipeline(spec.get("pipeline", spec), cache_dir=str(root)), jobs
