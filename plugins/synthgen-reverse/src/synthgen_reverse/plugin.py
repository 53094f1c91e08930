"""The hooks synthgen calls: the module named by the ``synthgen`` entry point."""

from __future__ import annotations

from synthgen.plugins import Registrar, hookimpl


@hookimpl
def synthgen_register_steps(register: Registrar) -> None:
    from synthgen_reverse.step import ReverseText

    register.add_step(ReverseText)  # registered as "reverse_text", its snake_case name


@hookimpl
def synthgen_register_configs(register: Registrar) -> None:
    # Adds conf/pipeline/reverse.yaml, so `python -m synthgen pipeline=reverse` finds it.
    register.add_config_path("pkg://synthgen_reverse.conf")
