"""Trace an ASGI app running under any server: an ASGI middleware that streams.

::

    from asgi_scope import TraceMiddleware
    app = TraceMiddleware(app)  # the default sink, as for attach: see below

and ``asgi-scope attach`` shows the trace live. The default socket is
``$XDG_RUNTIME_DIR/asgi-scope.sock``, else ``/tmp/asgi-scope-<uid>/asgi-scope.sock``
(:func:`asgi_scope.remote.stream.default_address`); the middleware does not stream to a
socket that belongs to another user (it drops and counts, and says so once). The
middleware records every scope and every message crossing ``receive()`` and
``send()`` with the same :class:`~asgi_scope.trace.shim.Shim`, the same events
and the same spec checker as asgi-scope's own server, and streams them in the
capture format (:mod:`asgi_scope.remote.stream`, :mod:`asgi_scope.trace.capture`).

What it cannot see: the socket. The server that owns it (uvicorn, hypercorn,
daphne...) is not ours, so there are no raw bytes, no WebSocket frames and no
connection boundaries: each ASGI call is recorded as one connection of its own,
opened when the call starts and closed when it returns, followed by a
:class:`~asgi_scope.trace.events.ConnectionOrigin` with ``source="middleware"``,
this process's ``pid`` and ``raw=False`` (the inspector says so instead of an
empty Hex tab).

The app never waits for the trace: recording is one append to a bounded
queue, and a daemon thread streams it (:mod:`asgi_scope.remote.sender`);
whatever does not fit is dropped and counted (:attr:`TraceMiddleware.dropped`).

This module runs inside the user's app process: it imports nothing heavy (no
Textual, Rich, h11 or asgi-scope server); an import-linter contract keeps it so.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import urlsplit

from asgi_scope.export.extras import installed
from asgi_scope.remote.sender import (
    DEFAULT_MAX_BUFFER,
    DEFAULT_MAX_EVENTS,
    BoundedRecorder,
    OtlpSender,
    StreamSender,
)
from asgi_scope.remote.stream import (
    SOURCE_MIDDLEWARE,
    AddressError,
    default_address,
    parse_address,
)
from asgi_scope.trace.capture import Header, wall_clock_at_zero
from asgi_scope.trace.events import (
    ConnectionClosed,
    ConnectionOpened,
    ConnectionOrigin,
    LifespanState,
    Wire,
)
from asgi_scope.trace.recorder import DEFAULT_MAX_BODY, Recorder
from asgi_scope.trace.shim import Shim

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class TraceMiddleware:
    """Wrap an ASGI 3 ``app``; stream its trace to ``sink`` (see :mod:`asgi_scope.remote.stream`
    for addresses: ``unix:PATH``, ``HOST:PORT`` on a loopback host, or a file path),
    or, for an ``http://`` or ``https://`` URL, export it to the OpenTelemetry
    Collector there as ``--otlp`` does (OTLP/HTTP protobuf; a span per exchange, a
    log record per message, secrets redacted; needs ``asgi-scope[otel]``).

    ``name`` is the app name the inspector shows (default: the app's
    ``module:qualname``). ``max_body``: bytes of body kept per exchange and
    direction (the rest is counted, as ``--max-body``). ``max_events`` and
    ``max_buffer`` bound what waits for a listener (events, bytes).

    Raises :class:`~asgi_scope.remote.stream.AddressError` at once for an address that
    cannot be parsed, or an OTLP URL without the ``otel`` extra installed; one that
    cannot be reached is retried quietly, forever,
    once a second, and costs the app nothing but the recording itself.
    """

    def __init__(
        self,
        app: Callable[[Scope, Receive, Send], Awaitable[None]],
        sink: str | None = None,
        *,
        name: str | None = None,
        max_body: int = DEFAULT_MAX_BODY,
        max_events: int = DEFAULT_MAX_EVENTS,
        max_buffer: int = DEFAULT_MAX_BUFFER,
    ) -> None:
        self.app = app
        self.otlp = sink if sink is not None and sink.startswith(("http://", "https://")) else ""
        """The OTLP/HTTP endpoint the trace is exported to, or ``""`` (a stream)."""
        if self.otlp:
            _otlp_endpoint(self.otlp)
        else:
            self.address = parse_address(default_address() if sink is None else sink)
        self.name = name or _name_of(app)
        self.max_body = max_body
        self.max_events = max_events
        self.max_buffer = max_buffer
        self._pid = 0
        self._lock = threading.Lock()
        self.recorder: BoundedRecorder = BoundedRecorder(max_body, max_events)
        self.sender: StreamSender | OtlpSender | None = None
        self._conn = 0
        self._exchange = 0
        self.disabled = ""
        """Why tracing stopped for good (the sender thread could not start), or ``""``."""

    # -- the sender, started lazily (after a fork, again) ------------------------

    def _started(self) -> BoundedRecorder:
        pid = os.getpid()
        if self._pid == pid:
            return self.recorder
        with self._lock:
            if self._pid != pid:
                if self._pid:  # forked: the parent's thread did not come along
                    self.recorder = BoundedRecorder(self.max_body, self.max_events)
                    self._conn = self._exchange = 0
                recorder = self.recorder
                if self.otlp:
                    started_ns = wall_clock_at_zero(recorder.now())
                    sender: StreamSender | OtlpSender = OtlpSender(
                        recorder, self.otlp, self.name, started_ns
                    )
                else:
                    sender = StreamSender(
                        recorder, self.address, self._header, max_buffer=self.max_buffer
                    )
                sender.start()
                self.sender = sender
                self._pid = pid
        return self.recorder

    def _header(self) -> Header:
        options = {
            "source": SOURCE_MIDDLEWARE,
            "pid": os.getpid(),
            "raw_bytes": False,
            "max_body": self.max_body,
        }
        return Header(self.name, wall_clock_at_zero(self.recorder.now()), options)

    @property
    def dropped(self) -> int:
        """Events dropped so far because no listener took them in time."""
        sender = self.sender
        return self.recorder.dropped + (sender.dropped if sender is not None else 0)

    def close(self, timeout: float = 1.0) -> None:
        """Send what is queued and stop streaming (also done at interpreter exit)."""
        if self.sender is not None:
            self.sender.close(timeout)

    # -- the ASGI call ------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope.get("type")
        if kind not in ("http", "websocket", "lifespan") or self.disabled:
            await self.app(scope, receive, send)
            return
        try:
            recorder = self._started()
        except Exception as exc:  # no thread to send with: serve on, untraced
            self.disabled = f"cannot start the sender thread: {exc}"
            await self.app(scope, receive, send)
            return
        self._exchange += 1
        exchange = self._exchange
        conn = 0
        if kind == "lifespan":  # which worker's lifespan this is
            recorder.record(
                ConnectionOrigin, conn=0, source=SOURCE_MIDDLEWARE, pid=os.getpid(), raw=False
            )
        else:
            self._conn += 1
            conn = self._conn
            client, server = _address(scope.get("client")), _address(scope.get("server"))
            recorder.record(ConnectionOpened, conn=conn, client=client, server=server)
            recorder.record(
                ConnectionOrigin, conn=conn, source=SOURCE_MIDDLEWARE, pid=os.getpid(), raw=False
            )
        call = _Call(recorder, conn, exchange, scope, receive, send)
        try:
            await self.app(scope, call.shim.receive, call.shim.send)
        except BaseException as exc:
            call.shim.raised(exc)
            call.outcome = "error"
            raise
        finally:
            call.shim.ended(scope, call.final_outcome(), call.status)
            if conn:
                recorder.record(
                    ConnectionClosed, conn=conn, by="app", reason="the ASGI call returned"
                )
            if kind == "lifespan" and self.sender is not None and call.shut_down:
                await _close_off_the_loop(self.sender)


def _otlp_endpoint(endpoint: str) -> None:
    """Raise ``AddressError`` for an OTLP ``endpoint`` with no host, or when
    ``opentelemetry-proto`` (the otel extra) is not installed."""
    if not urlsplit(endpoint).hostname:
        raise AddressError(f"{endpoint!r}: an OTLP sink is http://HOST:PORT or https://...")
    if not installed("opentelemetry.proto"):
        raise AddressError(f"{endpoint}: OTLP export needs pip install 'asgi-scope[otel]'")


async def _close_off_the_loop(sender: StreamSender | OtlpSender) -> None:
    """Close ``sender`` at lifespan shutdown without blocking the app's event loop:
    its thread is joined in a worker thread under asyncio. Under another loop
    (trio, as hypercorn's trio worker runs) it is told to stop and left to finish
    on its own; the interpreter's exit hook still waits for it."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:  # not asyncio
        sender.stop()
        return
    await asyncio.to_thread(sender.close, 1.0)


class _Call:
    """One ASGI call's shim, and what the middleware learns of its outcome from the
    messages that cross it (the server's own view is not available here)."""

    __slots__ = ("disconnected", "finished", "outcome", "scope", "shim", "shut_down", "status")

    def __init__(
        self,
        recorder: BoundedRecorder,
        conn: int,
        exchange: int,
        scope: Scope,
        receive: Receive,
        send: Send,
    ) -> None:
        self.scope = scope
        self.status = 0
        self.finished = scope.get("type") == "lifespan"
        self.disconnected = False
        self.shut_down = False
        self.outcome = ""

        async def server_receive() -> tuple[dict[str, Any], Wire | None]:
            message = await receive()
            kind = message.get("type")
            if kind in ("http.disconnect", "websocket.disconnect"):
                self.disconnected = True
            return message, None  # type: ignore[return-value]

        async def server_send(message: dict[str, Any]) -> None:
            self._sent(message, recorder, conn, exchange)
            await send(message)

        self.shim = Shim(recorder, conn, exchange, server_receive, server_send)  # type: ignore[arg-type]
        self.shim.scope_created(scope, None)  # type: ignore[arg-type]

    def _sent(self, message: Message, recorder: Recorder, conn: int, exchange: int) -> None:
        kind = message.get("type")
        if kind in ("http.response.start", "websocket.http.response.start"):
            status = message.get("status")
            self.status = status if isinstance(status, int) else self.status
        elif kind in ("http.response.body", "websocket.http.response.body"):
            self.finished = self.finished or not message.get("more_body", False)
        elif kind == "http.response.pathsend":
            self.finished = True
        elif kind == "websocket.accept":
            self.status, self.finished = 101, True
        elif kind == "websocket.close":
            self.status = self.status or 403
            self.finished = True
        elif kind == "lifespan.startup.complete":
            state = self.scope.get("state")
            if isinstance(state, dict):
                from asgi_scope.trace.snapshot import snapshot

                recorder.record(LifespanState, conn=conn, exchange=exchange, state=snapshot(state))
        elif kind in ("lifespan.shutdown.complete", "lifespan.shutdown.failed"):
            self.shut_down = True

    def final_outcome(self) -> str:
        if self.outcome:
            return self.outcome
        if self.finished:
            return "complete"
        return "disconnect" if self.disconnected else "incomplete"


def _address(value: Any) -> tuple[str, int] | None:
    if isinstance(value, (tuple, list)) and len(value) == 2:
        host, port = value
        if isinstance(host, str) and isinstance(port, int):
            return (host, port)
    return None


def _name_of(app: Any) -> str:
    """``module:qualname`` of a function or class app, else of the app's class."""
    target = app if hasattr(app, "__qualname__") else type(app)
    return f"{getattr(target, '__module__', None) or '?'}:{target.__qualname__}"
