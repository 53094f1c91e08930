"""The aiohttp app of ``synthgen view``: routes, and a server that runs in a thread or in the foreground.

Every route only reads the cache. Reading Parquet files and walking folders is blocking work, so
handlers run it in a worker thread: a live page's polling stays answered while a big leaf is paged.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from html import escape
from pathlib import Path
from typing import Any

from aiohttp import web

from synthgen.errors import CacheError
from synthgen.view import pages
from synthgen.view.explain import explain_by_step
from synthgen.view.prices import PriceTable
from synthgen.view.runs import pipeline_dir, pipeline_dirs, read_run

STATIC = Path(__file__).parent / "static"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class ViewApp:
    """The routes over one cache root.

    Args:
        root: the cache root (its pipeline folders are listed).
        prices: the price table the cost column uses.
    """

    def __init__(self, root: Path, prices: PriceTable) -> None:
        self.root = root
        self.prices = prices
        self.env = pages.environment()

    def app(self) -> web.Application:
        app = web.Application(middlewares=[_errors_as_pages])
        app.router.add_get("/", self.index)
        app.router.add_get("/run/{name}/{signature}", self.run)
        app.router.add_get("/rows/{name}/{signature}/{leaf}", self.rows)
        app.router.add_get("/api/run/{name}/{signature}", self.live)
        app.router.add_static("/static", STATIC)
        return app

    def _html(self, template: str, context: dict[str, Any]) -> web.Response:
        return web.Response(text=self.env.get_template(template).render(**context), content_type="text/html")

    def _pdir(self, request: web.Request) -> Path:
        return pipeline_dir(self.root, request.match_info["name"], request.match_info["signature"])

    async def index(self, request: web.Request) -> web.Response:
        runs = await asyncio.to_thread(lambda: [read_run(p) for p in pipeline_dirs(self.root)])
        return self._html("index.html", pages.index_context(self.root, runs))

    async def run(self, request: web.Request) -> web.Response:
        pdir = self._pdir(request)
        context = await asyncio.to_thread(self._run_context, pdir)
        return self._html("run.html", context)

    def _run_context(self, pdir: Path) -> dict[str, Any]:
        heading, lines = explain_by_step(self.root, pdir)
        return {**pages.run_context(read_run(pdir), self.prices, lines), "explain_heading": heading}

    async def rows(self, request: web.Request) -> web.Response:
        pdir, query = self._pdir(request), request.query
        offset = int(query["offset"]) if query.get("offset", "").isdigit() else 0  # a bad one: the first page
        context = await asyncio.to_thread(lambda: pages.rows_context(
            read_run(pdir), request.match_info["leaf"], offset, query.get("q", "").strip(), query.get("failed") == "1"))
        return self._html("rows.html", context)

    async def live(self, request: web.Request) -> web.Response:
        pdir = self._pdir(request)
        return web.json_response(await asyncio.to_thread(lambda: pages.live(read_run(pdir))))


@web.middleware
async def _errors_as_pages(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A missing pipeline or leaf is a 404 page that says what is missing, not a traceback."""
    try:
        return await handler(request)
    except CacheError as exc:
        return web.Response(status=404, text=f"<!doctype html><title>not found</title><p>{escape(str(exc))}</p>"
                            '<p><a href="/">all pipelines</a></p>', content_type="text/html")


class ViewServer:
    """The app served on ``host:port`` from an event loop in a daemon thread (tests, ``--open``).

    Args:
        app: the routes.
        host: the address to bind.
        port: the port (0: any free one; ``url`` says which).
    """

    def __init__(self, app: ViewApp, host: str = "127.0.0.1", port: int = 0) -> None:
        self.view, self.host, self.port = app, host, port
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, name="synthgen-view", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> ViewServer:
        """Bind and serve; returns once the port is open.

        Raises:
            OSError: the port is taken or the address cannot be bound.
        """
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=30)
        return self

    async def _start(self) -> None:
        self._runner = web.AppRunner(self.view.app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = int(self._runner.addresses[0][1])

    def stop(self) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(timeout=30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
