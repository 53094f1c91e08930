"""The hooks synthgen calls: the module named by the ``synthgen`` entry point."""

from __future__ import annotations

from synthgen.plugins import Registrar, hookimpl


@hookimpl
def synthgen_register_llms(register: Registrar) -> None:
    from synthgen_echo_llm.llm import EchoLLM

    register.add_llm(EchoLLM)  # registered as "echo", its type_name


@hookimpl
def synthgen_register_configs(register: Registrar) -> None:
    # Adds conf/llm/echo.yaml, so `python -m synthgen llm=echo` finds it.
    register.add_config_path("pkg://synthgen_echo_llm.conf")
