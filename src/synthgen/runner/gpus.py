"""GPU discovery and assignment of device ids to step replicas (through CUDA_VISIBLE_DEVICES)."""

from __future__ import annotations

import os
import shutil
import subprocess

from synthgen import plan


def available_gpus() -> list[str]:
    """Device ids from ``CUDA_VISIBLE_DEVICES`` or, when unset, the driver (``nvidia-smi -L``).

    Ids are kept as written: indexes, ``GPU-<uuid>`` or ``MIG-<uuid>`` all name a device. As CUDA
    does, the list ends at the first empty or negative entry (``-1`` hides every GPU).
    """
    env = os.environ.get("CUDA_VISIBLE_DEVICES")
    if env is not None:
        ids: list[str] = []
        for entry in (e.strip() for e in env.split(",")):
            if not entry or entry.startswith("-"):
                break
            ids.append(entry)
        return ids
    if not shutil.which("nvidia-smi"):
        return []
    try:
        out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [str(i) for i, line in enumerate(out.splitlines()) if line.startswith("GPU ")]


def assign_gpus(graph: plan.Graph, stages: list[list[str]]) -> dict[str, list[list[str]]]:
    """Per step, the device ids of each replica. Stages are loaded one at a time, so each stage
    may use every GPU; a stage that needs more than exist fails before anything runs."""
    if not any(n.gpus for n in graph.nodes.values()):
        return {}
    devices = available_gpus()
    plan.check_gpus(graph, stages, len(devices))
    assignment: dict[str, list[list[str]]] = {}
    for stage in stages:
        free = list(devices)
        for name in stage:
            node = graph.nodes[name]
            if node.gpus:
                assignment[name] = [[free.pop(0) for _ in range(node.gpus)] for _ in range(node.replicas)]
    return assignment
