"""``synthgen view``: serve the viewer until Ctrl+C."""

from __future__ import annotations

import time
import webbrowser
from pathlib import Path

from synthgen.errors import ConfigError
from synthgen.runner.cache_commands import cache_root
from synthgen.view.prices import load_prices
from synthgen.view.server import ViewApp, ViewServer

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def start(cache_dir: str | Path | None, host: str, port: int, prices: str | None = None) -> ViewServer:
    """The viewer of the cache at ``cache_dir``, serving on ``host:port``.

    Raises:
        CacheError: there is no cache there.
        ConfigError: the port is taken or the address cannot be bound; the price table is bad.
    """
    root = cache_root(cache_dir)
    server = ViewServer(ViewApp(root, load_prices(prices)), host, port)
    try:
        return server.start()
    except OSError as exc:
        server.stop()
        raise ConfigError(f"cannot serve on {host}:{port} ({exc.strerror or exc}): pass another --port "
                          "(--port 0 picks a free one)") from None


def serve(cache_dir: str | Path | None, host: str, port: int, open_browser: bool = False,
          prices: str | None = None) -> int:
    """Serve until Ctrl+C; returns the exit code (0)."""
    server = start(cache_dir, host, port, prices)
    print(f"synthgen view: {server.url} (cache {cache_root(cache_dir)}); Ctrl+C stops it", flush=True)
    if host not in LOOPBACK:
        print(f"serving on {host}: anyone who can reach this port can read the cache's data", flush=True)
    if open_browser:
        webbrowser.open(server.url)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        return 0
    finally:
        server.stop()
