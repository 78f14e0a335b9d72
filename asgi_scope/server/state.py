"""What every connection of one server shares: config, app, recorder, ids."""

from __future__ import annotations

import asyncio
import collections
import itertools
import time
from collections.abc import Coroutine
from email.utils import formatdate
from typing import Any

from asgi_scope import __version__
from asgi_scope.config import Config
from asgi_scope.server.scope import trusted_proxies
from asgi_scope.trace.recorder import Recorder

ASGIApp = Any
"""An ASGI 3 application: ``async def app(scope, receive, send) -> None``."""


class ServerState:
    """Shared by the server, its lifespan and every connection
    (:class:`~asgi_scope.server.http.HTTPProtocol`).

    Connection ids count from 1 (0 is the server's own lifespan lane); exchange
    ids count from 1 across the whole session.
    """

    def __init__(self, config: Config, app: ASGIApp, recorder: Recorder) -> None:
        self.config = config
        self.app = app
        self.recorder = recorder
        self.connections: set[Any] = set()
        """The open connections (``HTTPProtocol``), for shutdown, limits and the watchdog."""
        self.tasks: dict[asyncio.Task[None], Any] = {}
        """The running tasks, each with what it runs (its owner, or None)."""
        self.started: collections.deque[Any] = collections.deque(maxlen=64)
        """What started a task lately (request cycles, sessions), for the watchdog."""
        self.running: set[Any] = set()
        """The request cycles and sessions whose app is running (see :meth:`sole_exchange`)."""
        self.lifespan_state: dict[str, Any] = {}
        self.should_exit = False
        self.proxies = trusted_proxies(config.forwarded_allow_ips) if config.proxy_headers else None
        """Trusted proxies (``--proxy-headers``), or None."""
        self._conn_ids = itertools.count(1)
        self._exchange_ids = itertools.count(1)
        self._date_second = 0
        self._defaults: list[tuple[bytes, bytes]] = []
        self._task_done = self._done

    def count_from(self, conn: int, exchange: int) -> None:
        """Number new connections from ``conn`` and exchanges from ``exchange`` (an
        app process started by a reload continues its predecessor's ids)."""
        self._conn_ids = itertools.count(conn)
        self._exchange_ids = itertools.count(exchange)

    def peek_ids(self) -> tuple[int, int]:
        """The next connection id and exchange id (still to be handed out)."""
        conn, exchange = self.next_conn(), self.next_exchange()
        self.count_from(conn, exchange)
        return conn, exchange

    def next_conn(self) -> int:
        """A new connection id."""
        return next(self._conn_ids)

    def next_exchange(self) -> int:
        """A new exchange id."""
        return next(self._exchange_ids)

    def start_task(self, coro: Coroutine[Any, Any, None], owner: Any = None) -> None:
        """Run ``coro`` as a task the server waits for at shutdown; ``owner`` (the
        request cycle or session it runs) is noted for the watchdog when it starts
        and again when it ends (an app that blocked the loop and then answered at
        once started before the previous tick, perhaps, but ends before the late one)."""
        if owner is not None:
            self.started.append(owner)
            self.running.add(owner)
        task = asyncio.get_running_loop().create_task(coro)
        self.tasks[task] = owner
        task.add_done_callback(self._task_done)  # bound once, in __init__: no closure per task

    def _done(self, task: asyncio.Task[None]) -> None:
        owner = self.tasks.pop(task, None)
        if owner is not None:
            self.started.append(owner)
            self.running.discard(owner)

    def sole_exchange(self) -> int:
        """The id of the exchange whose app is running, if it is the only one; else 0
        (none, or several). Safe to call from any thread (a print in a thread pool):
        a set changing under it reads as several."""
        try:
            (owner,) = self.running
        except (ValueError, RuntimeError):
            return 0
        return getattr(owner, "exchange", 0)

    def default_headers(self) -> list[tuple[bytes, bytes]]:
        """``server`` (RFC 9110 §10.2.4) and ``date`` (§6.6.1) headers, unless the config
        turns them off; the date cached per second."""
        now = int(time.time())
        if now != self._date_second:
            self._date_second = now
            config = self.config
            self._defaults = []
            if config.server_header:
                self._defaults.append((b"server", f"asgi-scope/{__version__}".encode()))
            if config.date_header:
                self._defaults.append((b"date", formatdate(now, usegmt=True).encode()))
        return self._defaults
