"""`synthgen plugins`: each plugin with its version, what it registers and its hooks, without heavy imports."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

from synthgen.plugins import describe_plugins, render_plugins_table


def test_describe_lists_builtins_with_what_they_register() -> None:
    by_name = {info["name"]: info for info in describe_plugins()}
    llms = by_name["synthgen.plugins.builtin.llms"]
    assert llms["package"] == "synthgen" and llms["version"]
    assert "openai" in llms["llms"] and llms["steps"] == []
    assert llms["hooks"] == ["synthgen_register_llms"]


def test_describe_reports_an_entry_point_plugin_with_its_distribution(probe: object) -> None:
    info = next(i for i in describe_plugins() if i["name"] == "probe")
    assert (info["package"], info["version"]) == ("synthgen-probe", "0.1.0")
    assert info["steps"] == ["probe_step"]
    assert "synthgen_after_batch_written" in info["hooks"]


def test_plain_table_has_a_header_and_a_line_per_plugin(probe: object) -> None:
    lines = render_plugins_table(plain=True).splitlines()
    assert lines[0].split("\t") == ["plugin", "package", "version", "registers", "hooks"]
    probe_line = next(line for line in lines if line.startswith("probe\t"))
    assert probe_line.split("\t")[1:4] == ["synthgen-probe", "0.1.0", "steps: probe_step; executors: probe_local"]
    assert len(lines) == 1 + len(describe_plugins())


def test_rich_table_names_every_plugin() -> None:
    table = render_plugins_table()
    for info in describe_plugins():
        assert info["name"] in table


def test_listing_plugins_imports_no_heavy_backend() -> None:
    code = textwrap.dedent("""
        import sys
        from synthgen.plugins import render_plugins_table
        render_plugins_table()
        heavy = sorted({m.split(".")[0] for m in sys.modules} & {"torch", "vllm", "ray", "openai", "anthropic", "llama_cpp"})
        print(",".join(heavy))
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=os.environ.copy())
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""
