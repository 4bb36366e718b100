"""The scheduler's Bokeh server: the dashboard pages on the scheduler's own event loop.

Page code runs on that loop too, between scheduler events, and reads scheduler state
directly (no copies, no locks). A page does work only while a browser has it open, at
``scheduler.dashboard.update-interval``.

    >>> parse_dashboard_address(":8787", "127.0.0.1")
    ('127.0.0.1', 8787)
    >>> parse_dashboard_address("0.0.0.0:0", "127.0.0.1")
    ('0.0.0.0', 0)
"""
from __future__ import annotations

import errno
import html
import logging
import socket
from functools import partial
from typing import Any

from bokeh.application import Application
from bokeh.application.handlers.function import FunctionHandler
from bokeh.server.tornado import BokehTornado
from tornado.httpserver import HTTPServer
from tornado.ioloop import IOLoop
from tornado.netutil import bind_sockets
from tornado.web import RequestHandler

from graphengine.comm.address import parse_address
from graphengine.dashboard.graph_page import graph_document
from graphengine.dashboard.pages import PAGES
from graphengine.dashboard.profile_page import profile_document
from graphengine.dashboard.status import status_document
from graphengine.dashboard.system_page import system_document
from graphengine.dashboard.workers_page import workers_document

__all__ = ["DashboardServer", "parse_dashboard_address"]

logger = logging.getLogger(__name__)

_DOCUMENTS = {"/status": status_document, "/workers": workers_document,
              "/profile": profile_document, "/graph": graph_document,
              "/system": system_document}


def parse_dashboard_address(address: str | int, default_host: str) -> tuple[str, int]:
    """``(host, port)`` from ``":8787"``, ``"host:port"``, ``"8787"`` or ``8787``."""
    text = str(address).strip()
    if text.startswith(("http://", "https://")):
        text = text.split("://", 1)[1]
    host, sep, port = text.rpartition(":")
    if not sep:
        host, port = "", text
    host = host.strip("[]") or default_host
    try:
        number = int(port)
    except ValueError:
        raise ValueError(f"dashboard address {address!r} has no valid port "
                         f"(expected e.g. ':8787' or '127.0.0.1:8787')") from None
    if not 0 <= number < 65536:
        raise ValueError(f"dashboard address {address!r}: port {number} is out of range")
    return host, number


class _IndexHandler(RequestHandler):
    """The root URL: a page listing the dashboard's pages."""

    def initialize(self, title: str) -> None:
        self.title = title

    def get(self) -> None:
        items = "".join(f'<li><a href="{path}">{html.escape(title)}</a> &mdash; '
                        f'{html.escape(what)}</li>' for path, (title, what) in PAGES.items())
        self.write(f"<!DOCTYPE html><html><head><title>graphengine dashboard</title></head>"
                   f"<body style='font-family: sans-serif'><h1>graphengine dashboard</h1>"
                   f"<p>{html.escape(self.title)}</p><ul>{items}</ul></body></html>")


class DashboardServer:
    """Serves the dashboard of ``scheduler`` over HTTP."""

    def __init__(self, scheduler: Any):
        self.scheduler = scheduler
        self.host: str | None = None
        self.port: int | None = None
        self._app: BokehTornado | None = None
        self._http: HTTPServer | None = None

    def listen(self, address: str | int) -> None:
        """Start serving at ``address`` (a port in use: any free port, with a warning)."""
        scheduler_host = parse_address(self.scheduler.address).host or "127.0.0.1"
        host, port = parse_dashboard_address(address, scheduler_host)
        try:
            sockets = bind_sockets(port, host)
        except OSError as e:
            if e.errno != errno.EADDRINUSE or port == 0:
                raise OSError(e.errno, f"cannot serve the dashboard at {host}:{port}: "
                                       f"{e.strerror}") from e
            sockets = bind_sockets(0, host)
            logger.warning("dashboard port %d is in use (another cluster?): serving it at "
                           "port %d instead", port, sockets[0].getsockname()[1])
        apps = {path: Application(FunctionHandler(partial(make, self.scheduler)))
                for path, make in _DOCUMENTS.items()}
        self._app = BokehTornado(
            apps, extra_websocket_origins=["*"], use_index=False, redirect_root=False,
            extra_patterns=[(r"/", _IndexHandler,
                             {"title": f"scheduler {self.scheduler.address}"})])
        self._app.initialize(IOLoop.current())
        self._http = HTTPServer(self._app, xheaders=True)
        self._http.add_sockets(sockets)
        self._app.start()
        self.host = host
        self.port = sockets[0].getsockname()[1]
        logger.info("dashboard at %s", self.link)

    @property
    def link(self) -> str:
        host = self.host
        if host in ("", "0.0.0.0", "::"):
            host = socket.gethostname()
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}/status"

    def stop(self) -> None:
        if self._http is not None:
            self._http.stop()
            self._http = None
        if self._app is not None:
            self._app.stop(wait=False)
            self._app = None
