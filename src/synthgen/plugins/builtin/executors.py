"""Built-in executors: replicas as local processes, or as Ray actors (Ray is imported only by a Ray run)."""

from __future__ import annotations

from synthgen.plugins.hookspecs import hookimpl
from synthgen.plugins.registry import Registrar


@hookimpl
def synthgen_register_executors(register: Registrar) -> None:
    register.add_executor("local", "synthgen.runner.local:LocalExecutor", local_gpus=True)
    register.add_executor("ray", "synthgen.runner.ray_executor:RayExecutor", options=("address", "num_cpus"))
