"""``synthgen``: the command line. Each subcommand imports what it needs only when it runs.

``synthgen run [overrides]`` is the Hydra app (same as ``python -m synthgen``); the other commands
take plain arguments. A user error prints one line on stderr, never a traceback (``SYNTHGEN_DEBUG=1``
shows it), and exits non-zero: 1 for errors, 2 for usage, 3 when offline batch jobs are pending, 4 when
the run finished with failed rows (the dataset is written).
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys
from collections.abc import Callable, Sequence
from typing import Any

from synthgen.config import failures

Handler = Callable[[argparse.Namespace], int]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every subcommand except ``run`` (which Hydra parses)."""
    parser = argparse.ArgumentParser(prog="synthgen", description="Synthetic datasets with LLMs.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    sub.add_parser("run", help="compose conf/ with Hydra overrides and run (same as `python -m synthgen`)")
    _add_pipeline_parser(sub)
    plugins = sub.add_parser("plugins", help="list plugins, their versions and what each registers")
    plugins.set_defaults(handler=_plugins)
    _add_cache_parser(sub)
    _add_batch_parser(sub)
    _add_view_parser(sub)
    _add_testing_parser(sub)
    return parser


def _add_testing_parser(sub: argparse._SubParsersAction) -> None:
    from synthgen.cli import testing_commands

    testing_commands.add_parser(sub)


def _add_pipeline_parser(sub: argparse._SubParsersAction) -> None:
    pipeline = sub.add_parser("pipeline", help="run, inspect or draw a recorded pipeline.yaml")
    actions = pipeline.add_subparsers(dest="action", metavar="ACTION", required=True)
    for name, help_text in (("run", "rerun a pipeline.yaml (finished steps come from the cache)"),
                            ("info", "steps, connections, load stages, runtime parameters, cache status"),
                            ("draw", "the DAG as Mermaid (or PNG/SVG with graphviz)")):
        action = actions.add_parser(name, help=help_text)
        action.add_argument("--config", required=True, help="path to a pipeline.yaml")
        action.add_argument("--param", action="append", default=[], metavar="STEP.KEY=VALUE",
                            help="override a parameter (dotted path, YAML value); repeatable")
        action.add_argument("--cache-dir", default=None, help="cache root (default: $SYNTHGEN_CACHE_DIR)")
        action.set_defaults(handler=_pipeline_handler(name))
    run, draw = actions.choices["run"], actions.choices["draw"]
    run.add_argument("--output-dir", default=None, help="where pipeline.yaml and the Distiset go")
    run.add_argument("--no-cache", action="store_true", help="recompute every step (LLM requests are billed again)")
    run.add_argument("--no-retry-failed", action="store_true",
                     help="keep rows that failed in an earlier run as they are instead of retrying them")
    run.add_argument("--max-failed-fraction", type=float, default=0.5, metavar="F",
                     help="an error above this fraction of failed rows in a step (0: any); default 0.5")
    run.add_argument("--runner", choices=("local", "ray"), default="local", help="where step replicas run")
    run.add_argument("--ray-address", default=None, help="a Ray cluster to join (default: $RAY_ADDRESS, or a local one)")
    draw.add_argument("--output", default=None, help="FILE (.md/.mmd: Mermaid; .png/.svg: needs graphviz)")


def _add_cache_parser(sub: argparse._SubParsersAction) -> None:
    cache = sub.add_parser("cache", help="inspect and clean the cache")
    actions = cache.add_subparsers(dest="action", metavar="ACTION", required=True)
    specs = {"ls": "list cached pipelines", "explain": "why a step is (not) cached",
             "gc": "drop unreferenced objects", "clear": "delete one pipeline's cache, or all"}
    for name, help_text in specs.items():
        action = actions.add_parser(name, help=help_text)
        if name == "explain":
            action.add_argument("target", help="a pipeline.yaml, pipeline name or step")
        if name == "clear":
            action.add_argument("name", nargs="?", default=None, help="pipeline name (default: everything)")
            action.add_argument("--yes", action="store_true", help="clear everything without asking")
        action.add_argument("--cache-dir", default=None, help="cache root (default: $SYNTHGEN_CACHE_DIR)")
        action.set_defaults(handler=_cache)


def _add_batch_parser(sub: argparse._SubParsersAction) -> None:
    batch = sub.add_parser("batch", help="status or cancel a pending pipeline's offline batch jobs")
    actions = batch.add_subparsers(dest="action", metavar="ACTION", required=True)
    for name, help_text in (("status", "show each pending job's state"),
                            ("cancel", "cancel the pending jobs (a rerun collects what they finished)")):
        action = actions.add_parser(name, help=help_text)
        action.add_argument("target", help="a pipeline name or the pipeline.yaml in its cache folder")
        action.add_argument("--cache-dir", default=None, help="cache root (default: $SYNTHGEN_CACHE_DIR)")
        action.set_defaults(handler=_batch_handler(name))


def _add_view_parser(sub: argparse._SubParsersAction) -> None:
    view = sub.add_parser("view", help="a local web page over the cache: runs, rows, charts, costs")
    view.add_argument("--cache-dir", default=None, help="cache root (default: $SYNTHGEN_CACHE_DIR)")
    view.add_argument("--host", default="127.0.0.1",
                      help="address to bind (default 127.0.0.1: this machine only; another address shares the data)")
    view.add_argument("--port", type=int, default=8765, help="port (default 8765; 0 picks a free one)")
    view.add_argument("--open", action="store_true", help="open the page in the default browser")
    view.add_argument("--prices", default=None, metavar="FILE",
                      help="a YAML price table whose entries extend conf/prices.yaml")
    view.set_defaults(handler=_view)


def _view(args: argparse.Namespace) -> int:
    if importlib.util.find_spec("aiohttp") is None:
        from synthgen.errors import MissingDependencyError

        raise MissingDependencyError("aiohttp", "view", "view")
    from synthgen.view.command import serve

    return serve(args.cache_dir, args.host, args.port, args.open, args.prices)


def _batch_handler(action: str) -> Handler:
    def handler(args: argparse.Namespace) -> int:
        from synthgen.cli import batch_commands

        return int(getattr(batch_commands, action)(args))

    return handler


def _pipeline_handler(action: str) -> Handler:
    def handler(args: argparse.Namespace) -> int:
        from synthgen.cli import pipeline_commands

        return getattr(pipeline_commands, action)(args)

    return handler


def _plugins(args: argparse.Namespace) -> int:
    from synthgen.plugins import render_plugins_table

    print(render_plugins_table())
    return 0


def _cache(args: argparse.Namespace) -> int:
    # The lead's module; imported by name so this command fails clearly until it exists.
    cache_commands = importlib.import_module("synthgen.runner.cache_commands")

    if args.action == "explain":
        out = cache_commands.explain(args.target, args.cache_dir)
    elif args.action == "clear":
        if args.name is None and not args.yes and not _confirm_clear_all(cache_commands, args.cache_dir):
            print("nothing deleted")
            return 1
        out = cache_commands.clear(args.name, args.cache_dir)
    else:
        out = getattr(cache_commands, args.action)(args.cache_dir)
    print(out)
    return 0


def _confirm_clear_all(cache_commands: Any, cache_dir: str | None) -> bool:
    """Ask before deleting every paid answer; without a terminal to ask on, refuse (``--yes`` confirms).

    Raises:
        UsageError: stdin is not a terminal and ``--yes`` was not given.
    """
    from synthgen.errors import UsageError

    what = cache_commands.clear_all_summary(cache_dir)
    if not (sys.stdin and sys.stdin.isatty()):
        raise UsageError(f"synthgen cache clear with no name deletes {what}: pass --yes to confirm, "
                         "or name one pipeline")
    answer = input(f"This deletes {what}. Delete everything? [y/N] ")
    return answer.strip().lower() in ("y", "yes")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``synthgen`` console script; returns (and exits with) the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["run"]:
        from synthgen.config.hydra_app import hydra_main

        hydra_main(argv[1:], prog="synthgen run")
        return 0
    args = build_parser().parse_args(argv)
    try:
        code = int(args.handler(args))
    except (Exception, KeyboardInterrupt) as exc:
        if not failures.handled(exc):
            raise
        code = failures.report(exc)
    if code:
        sys.exit(code)
    return code


if __name__ == "__main__":
    main()
