"""Starting, running and stopping the server, on this loop or in a thread.

:class:`Server` binds, runs lifespan startup, serves until told to exit, then
shuts down gracefully: stop accepting, close idle connections, give in-flight
requests ``timeout_graceful_shutdown`` seconds, cancel what is left, run
lifespan shutdown. It is an event source of :mod:`asgi_scope.session`, which
runs it on this loop (headless) or in a thread (the TUI).
"""

from __future__ import annotations

import asyncio
import errno
import signal
import socket
import ssl
import threading
from collections.abc import Callable

from asgi_scope.config import Config
from asgi_scope.server.http import HTTPProtocol
from asgi_scope.server.lifespan import Lifespan, LifespanFailed
from asgi_scope.server.state import ASGIApp, ServerState
from asgi_scope.server.watchdog import Watchdog
from asgi_scope.trace.events import ServerNote
from asgi_scope.trace.recorder import Recorder

NOTE_INTERVAL = 1.0
"""Seconds between two notes that ``accept()`` is failing (out of descriptors)."""

_OUT_OF_RESOURCE = "socket.accept() out of system resource"
"""asyncio's message when ``accept()`` fails with EMFILE, ENFILE, ENOBUFS or ENOMEM
(it stops accepting for a second, then tries again)."""


class StartupError(Exception):
    """The server could not start (port in use, lifespan startup failed).

    The message is one line for the user; ``exit_code`` is the process exit
    code to use (3, uvicorn's ``STARTUP_FAILURE``).
    """

    exit_code = 3


def url_of(config: Config, port: int, sock: socket.socket | None = None) -> str:
    """The URL to open for a server of ``config`` bound to ``port`` (``https`` with
    TLS), or ``unix:PATH`` when ``sock`` is a Unix domain socket."""
    if sock is not None and sock.family == socket.AF_UNIX:
        return f"unix:{sock.getsockname()}"
    host = config.host
    if config.binds_all_interfaces:
        host = "127.0.0.1"
    elif ":" in host:
        host = f"[{host}]"
    scheme = "https" if config.ssl_certfile else "http"
    return f"{scheme}://{host}:{port}"


def tls_context(config: Config) -> ssl.SSLContext | None:
    """The server's TLS context (``--ssl-certfile``, ``--ssl-keyfile``,
    ``--ssl-keyfile-password``), or None without TLS. Raises :class:`StartupError`."""
    if not config.ssl_certfile:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(
            config.ssl_certfile, config.ssl_keyfile, config.ssl_keyfile_password
        )
    except (OSError, ssl.SSLError) as exc:
        raise StartupError(f"cannot load the TLS certificate or key: {exc}") from None
    return context


def cannot_listen(config: Config, exc: OSError) -> StartupError:
    """The one-line error for a bind that failed."""
    where = f"[{config.host}]" if ":" in config.host else config.host
    reason = exc.strerror or str(exc)
    return StartupError(f"cannot listen on {where}:{config.port}: {reason}")


class Server:
    """One embedded HTTP/1.1 server for one app. Use :meth:`serve`."""

    def __init__(
        self,
        config: Config,
        app: ASGIApp,
        recorder: Recorder,
        sock: socket.socket | None = None,
    ) -> None:
        self.config = config
        self.sock = sock
        """A listening socket bound by someone else (the inspector), served instead
        of binding ``config.host``/``config.port``; closed at shutdown."""
        self.on_draining: Callable[[], None] | None = None
        """Called at shutdown once nothing new can start (no new connection, no new
        exchange): the app process tells the inspector which ids it may hand on."""
        self.recorder = recorder
        """Where the server and the shim record (an event source's recorder)."""
        recorder.max_body = config.max_body  # the cap the server and the shim apply
        self.state = ServerState(config, app, recorder)
        self.exit: asyncio.Event | None = None  # created on the serving loop
        self.loop: asyncio.AbstractEventLoop | None = None
        self.port = config.port
        self._server: asyncio.base_events.Server | None = None
        self._force = False
        self._lifespan: Lifespan | None = None
        self.watchdog = Watchdog(self.state)
        self._accept_failed = 0  # accept() calls failed since the last note
        self._accept_noted = -NOTE_INTERVAL  # loop time of the last note

    @property
    def url(self) -> str:
        """The URL to open, with the bound port (``--port 0`` resolved)."""
        return url_of(self.config, self.port, self.sock)

    async def serve(
        self,
        *,
        handle_signals: bool = True,
        ready: Callable[[], None] | None = None,
    ) -> None:
        """Start, call ``ready()``, serve until :meth:`stop`, then shut down.

        Raises :class:`StartupError` if the server cannot start; nothing stays
        bound then.
        """
        self.loop = asyncio.get_running_loop()
        self.exit = asyncio.Event()
        lifespan = self._lifespan = Lifespan(self.state)
        await self._startup(lifespan)
        if handle_signals:
            self._install_signal_handlers()
        if ready is not None:
            ready()
        self.watchdog.start()
        try:
            await self.exit.wait()
        finally:
            self.watchdog.stop()
            await self._shutdown(lifespan)

    def stop(self, force: bool = False) -> None:
        """Ask the server to shut down gracefully (again, or ``force``: at once).

        Thread-safe: may be called from any thread once :meth:`serve` started.
        """
        if self.loop is None or self.exit is None:
            return

        def _stop() -> None:
            assert self.exit is not None
            if self.exit.is_set() or force:
                self._force = True
                for task in list(self.state.tasks):
                    task.cancel()
                if self._lifespan is not None and self.exit.is_set():
                    self._lifespan.cancel()
            self.exit.set()

        if self.loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self.loop:
            _stop()
        else:
            self.loop.call_soon_threadsafe(_stop)

    async def _startup(self, lifespan: Lifespan) -> None:
        config, recorder = self.config, self.state.recorder
        try:
            await lifespan.startup()
        except LifespanFailed as exc:
            raise StartupError(f"Application startup failed: {exc}") from None
        try:
            tls = tls_context(config)
            if self.sock is not None:
                self._server = await asyncio.get_running_loop().create_server(
                    lambda: HTTPProtocol(self.state), sock=self.sock, backlog=2048, ssl=tls
                )
            else:
                self._server = await asyncio.get_running_loop().create_server(
                    lambda: HTTPProtocol(self.state),
                    host=config.host,
                    port=config.port,
                    reuse_address=True,
                    backlog=2048,
                    ssl=tls,
                )
        except OSError as exc:
            await lifespan.shutdown()
            raise cannot_listen(config, exc) from None
        except StartupError:
            await lifespan.shutdown()
            raise
        self._watch_accept(asyncio.get_running_loop())
        sock = self._server.sockets[0]
        if sock.family != socket.AF_UNIX:
            self.port = sock.getsockname()[1]
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            for each in self._server.sockets:
                each.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        recorder.record(ServerNote, conn=0, level="info", text=f"listening on {self.url}")
        if config.binds_all_interfaces:
            recorder.record(
                ServerNote,
                conn=0,
                level="warning",
                text=f"bound to {config.host}: every machine that can reach this one can send "
                "requests to the app",
            )

    async def _shutdown(self, lifespan: Lifespan) -> None:
        state = self.state
        state.should_exit = True
        state.recorder.record(ServerNote, conn=0, level="info", text="shutting down")
        if self._server is not None:
            self._server.close()
        for conn in list(state.connections):
            conn.shutdown()
        if self.on_draining is not None:
            self.on_draining()
        timeout = self.config.timeout_graceful_shutdown
        pending = [t for t in state.tasks if not t.done()]
        if pending and not self._force:
            _, still = await asyncio.wait(pending, timeout=timeout)
            pending = list(still)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=1.0)
        for conn in list(state.connections):
            conn.close("server", "shutting down")
        await lifespan.shutdown(0.1 if self._force else timeout)
        state.recorder.record(ServerNote, conn=0, level="info", text="stopped")

    def _watch_accept(self, loop: asyncio.AbstractEventLoop) -> None:
        """Turn asyncio's report of a failing ``accept()`` (out of file descriptors:
        a traceback for every try, thousands a second) into a warning note, one a
        second at most, with the count of failures in between. asyncio keeps the
        listener: it tries again every second, so connections waiting in the
        kernel's queue are served once descriptors are free. Every other report
        goes to the loop's handler as before."""
        previous = loop.get_exception_handler()

        def handle(loop: asyncio.AbstractEventLoop, context: dict[str, object]) -> None:
            exc = context.get("exception")
            if context.get("message") != _OUT_OF_RESOURCE or not isinstance(exc, OSError):
                if previous is not None:
                    previous(loop, context)
                else:
                    loop.default_exception_handler(context)
                return
            self._accept_failed += 1
            now = loop.time()
            if now - self._accept_noted < NOTE_INTERVAL:
                return
            self._accept_noted = now
            failed, self._accept_failed = self._accept_failed, 0
            name = errno.errorcode.get(exc.errno or 0, "error")
            self.state.recorder.record(
                ServerNote, conn=0, level="warning",
                text=f"cannot accept connections: {exc.strerror or exc} ({name}; "
                f"{failed} accept() failed); new connections wait, tried again each second",
            )  # fmt: skip

        loop.set_exception_handler(handle)

    def _install_signal_handlers(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, self.stop)
            except (NotImplementedError, RuntimeError):  # pragma: no cover - Windows
                signal.signal(sig, lambda *_: self.stop())
