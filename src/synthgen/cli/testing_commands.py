"""``synthgen testing serve openai|anthropic``: a test server in the foreground, to try pipelines and
docs examples without a key or a bill."""

from __future__ import annotations

import argparse
import signal
import time
from typing import TYPE_CHECKING

from synthgen.errors import ConfigError

if TYPE_CHECKING:
    from synthgen.testing.servers import TestServerBase

_HINTS = {
    "openai": "python -m synthgen pipeline=text_generation llm=openai_compatible llm.base_url={base} llm.model=test-model",
    "anthropic": "python -m synthgen pipeline=text_generation llm=anthropic llm.base_url={url}",
}


def add_parser(sub: argparse._SubParsersAction) -> None:
    """``synthgen testing serve ...``."""
    testing = sub.add_parser("testing", help="tools for trying synthgen without a provider")
    actions = testing.add_subparsers(dest="action", metavar="ACTION", required=True)
    serve = actions.add_parser("serve", help="run an OpenAI- or Anthropic-compatible test server until Ctrl+C")
    serve.add_argument("provider", choices=sorted(_HINTS), help="which API the server speaks")
    serve.add_argument("--port", type=int, default=8000, help="port on 127.0.0.1 (0: any free port; default 8000)")
    serve.add_argument("--latency", type=float, default=0.0, help="seconds each answer takes (default 0)")
    serve.add_argument("--fail-rate", type=float, default=0.0,
                       help="fraction of requests answered with HTTP 500, which clients retry (default 0)")
    serve.set_defaults(handler=serve_command)


def serve_command(args: argparse.Namespace) -> int:
    """Start the server, print where it listens and how to point synthgen at it, serve until Ctrl+C.

    Raises:
        ConfigError: a value out of range, or the port is taken.
    """
    if not 0.0 <= args.fail_rate <= 1.0 or args.latency < 0 or not 0 <= args.port <= 65535:
        raise ConfigError("--fail-rate must be within 0..1, --latency at least 0 and --port within 0..65535")
    server = _server(args)
    try:
        server.start()
    except OSError as exc:
        raise ConfigError(f"cannot listen on 127.0.0.1:{args.port} ({exc.strerror}): pass another --port") from None
    base_url = server.base_url if args.provider == "openai" else server.url  # as each provider's base_url
    print(f"{args.provider} test server listening: base_url={base_url} (Ctrl+C stops it)", flush=True)
    print("try: " + _HINTS[args.provider].format(url=server.url, base=server.base_url), flush=True)
    # Ctrl+C is how this command ends, so it owns SIGINT: a process started in the background of a script
    # (`cmd &`, make, CI) inherits SIGINT *ignored*, and Python then installs no KeyboardInterrupt at all.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    print(f"stopped after {server.counters.requests} requests", flush=True)
    return 0


def _server(args: argparse.Namespace) -> TestServerBase:
    from synthgen.testing.servers import AnthropicTestServer, OpenAITestServer

    cls = OpenAITestServer if args.provider == "openai" else AnthropicTestServer
    server: TestServerBase = cls(latency=args.latency, rate_500=args.fail_rate, port=args.port)
    return server
