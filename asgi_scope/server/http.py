"""HTTP/1.1 and HTTP/1.0 over h11: one :class:`HTTPProtocol` per connection.

The asyncio edge (as uvicorn's ``h11_impl``): the event loop calls
``data_received`` with bytes, h11 turns them into events (RFC 9112), and each
request becomes one sans-IO :class:`~asgi_scope.server.cycle.RequestCycle`
(or :class:`~asgi_scope.server.websocket.WebSocketSession`) that runs the app
in a task and writes, waits and closes through this protocol, its
:class:`~asgi_scope.server.edge.Edge`. Every byte in and out is recorded with
its stream offset, and every parsed event's byte range comes from how much of
h11's receive buffer it consumed.

Behaviour (RFC 9112 and the ASGI HTTP spec):

- keep-alive, with an idle timeout; pipelined requests answered in order
  (h11 pauses on the next request until the current response is done);
- a request head that takes longer than ``Config.timeout_request_head`` to
  arrive (slowloris) answered 408 and closed;
- request bodies (Content-Length or chunked) handed to the app as
  ``http.request`` messages, reading from the socket only while the app keeps
  up (reading pauses past 64 KiB buffered);
- responses framed by h11 from the app's headers: its Content-Length, else
  chunked on HTTP/1.1, else close-delimited; HEAD answered without a body;
- ``100 Continue`` sent only when the app first calls ``receive()``;
- ``http.disconnect`` once the client has gone or the response is complete;
- 500 when the app raises or returns before ``http.response.start``; the
  connection closed when it fails after; 400 (431 for a head over the size
  limit, 414 for a request line over it) for a malformed request, which is
  still recorded as an exchange; 400 also for Transfer-Encoding with
  Content-Length (§6.3) and for obsolete line folding (§5.2);
- absolute-form targets (§3.2.2) reduced to their path in the scope;
- the extensions ``http.response.trailers`` (a chunked trailer section),
  ``http.response.pathsend`` (the server reads and sends the file) and
  ``http.response.debug`` (accepted, nothing sent) offered in the scope;
- past ``Config.limit_concurrency`` connections or tasks, 503 in the app's
  place (uvicorn's ``--limit-concurrency``);
- a request to upgrade to ``websocket`` handed to a
  :class:`~asgi_scope.server.websocket.WebSocketSession` on the same
  connection, its ids and stream offsets carried on.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from typing import Any, TypeVar

import h11

from asgi_scope.server.cycle import HIGH_WATER, RequestCycle
from asgi_scope.server.h11_private import has_obs_fold, header_fields, unconsumed
from asgi_scope.server.responses import error_response, service_unavailable
from asgi_scope.server.scope import (
    Headers,
    apply_proxy_headers,
    connection_scope,
    snapshot_scope,
)
from asgi_scope.server.state import ServerState
from asgi_scope.server.websocket import WebSocketSession
from asgi_scope.server.websocket import is_upgrade as is_websocket_upgrade
from asgi_scope.trace.events import (
    BytesReceived,
    BytesSent,
    ConnectionClosed,
    ConnectionOpened,
    ProtocolError,
    ServerNote,
    Wire,
)

T = TypeVar("T")

COALESCE = 16 * 1024
"""A response head goes out in one write with body bytes up to this size."""

_BYTEARRAY = re.compile(r"""bytearray\((b'(?:[^'\\]|\\.)*'|b"(?:[^"\\]|\\.)*")\)""")


def _reason(exc: h11.ProtocolError) -> str:
    """h11's reason for refusing the bytes, as a person reads it: the bytes it
    quotes as ``bytearray(b'...')`` (its buffer's type) shown as ``b'...'``."""
    return _BYTEARRAY.sub(r"\1", str(exc))


def _address(transport: asyncio.BaseTransport, name: str) -> tuple[str, int] | None:
    info = transport.get_extra_info(name)
    return (str(info[0]), int(info[1])) if isinstance(info, tuple) else None


def _framing_error(headers: Headers) -> str:
    """Why a request with ``headers`` has its body framing refused, or ``""``.

    A request with both Transfer-Encoding and Content-Length is how requests are
    smuggled past proxies (RFC 9112 §6.3 ¶3, §11.2); h11 would let
    Transfer-Encoding win, a server may reject it instead, and this one does.
    """
    te = cl = False
    for name, _ in headers:
        if name == b"transfer-encoding":
            te = True
        elif name == b"content-length":
            cl = True
    if te and cl:
        return "both Transfer-Encoding and Content-Length (RFC 9112 section 6.3)"
    return ""


class HTTPProtocol(asyncio.Protocol):
    """One client connection, parsed by h11, served by the app, recorded: the
    asyncio :class:`~asgi_scope.server.edge.Edge` of its request cycles and
    WebSocket session."""

    def __init__(self, state: ServerState) -> None:
        self.state = state
        self.recorder = state.recorder
        self.h11 = h11.Connection(
            h11.SERVER, max_incomplete_event_size=state.config.h11_max_incomplete_event_size
        )
        self.transport: asyncio.Transport = None  # type: ignore[assignment]
        self.loop: asyncio.AbstractEventLoop = None  # type: ignore[assignment]
        self.conn = 0
        self.client: tuple[str, int] | None = None
        self.server: tuple[str, int] | None = None
        self.secure = False  # over TLS
        self.in_offset = 0  # bytes received so far
        self.consumed = 0  # bytes of those h11 has turned into events
        self.out_offset = 0  # bytes sent so far
        self.parsing = 0  # id of the exchange whose bytes are arriving, 0 between requests
        self.in_budget = 0  # raw received bytes still to keep for that exchange
        self.cycle: RequestCycle | None = None  # the exchange being answered
        self.read_paused = False  # paused by the exchange (body, queue, pipelining)
        self.write_paused = False  # the transport's write buffer is over its high-water mark
        self.writable = asyncio.Event()
        self.writable.set()
        self.closing: tuple[str, str] | None = None  # (by, reason) once we close
        self.keep_alive_timer: asyncio.TimerHandle | None = None
        self.websocket: WebSocketSession | None = None  # after an upgrade request
        self.idle_since: float | None = None  # loop time the connection went idle
        self.head_since: float | None = None  # loop time a request head began arriving
        self.head_timer: asyncio.TimerHandle | None = None
        self.pending_head = b""  # a response head held back to go out with its body

    # asyncio.Protocol callbacks

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.loop = asyncio.get_running_loop()
        self.conn = self.state.next_conn()
        self.client = _address(transport, "peername")
        self.server = _address(transport, "sockname")
        self.secure = transport.get_extra_info("sslcontext") is not None
        self.state.connections.add(self)
        self.recorder.record(
            ConnectionOpened, conn=self.conn, client=self.client, server=self.server
        )
        self._arm_keep_alive()

    def connection_lost(self, exc: Exception | None) -> None:
        by, reason = self.closing or ("client", f"reset: {exc}" if exc else "EOF")
        cycle = self.cycle
        unseen = cycle is None or cycle.exchange != self.parsing
        if self.websocket is not None:
            self.websocket.connection_lost()
            unseen = False
        if unseen and self.in_offset > self.consumed:
            # Bytes of a request the app never saw (a head cut short, or a
            # pipelined request not reached): still an exchange, recorded.
            self.recorder.record(
                ProtocolError,
                conn=self.conn,
                exchange=self.parsing or self.state.next_exchange(),
                by="client",
                status=0,
                detail="connection closed before the request was handled",
                wire=(self.consumed, self.in_offset),
            )
        self.recorder.record(ConnectionClosed, conn=self.conn, by=by, reason=reason)
        self.state.connections.discard(self)
        self._cancel_keep_alive()
        if self.head_timer is not None:
            self.head_timer.cancel()
        self.writable.set()
        if cycle is not None:
            cycle.connection_lost()

    def eof_received(self) -> bool | None:
        # The client's FIN. A half-close (RFC 9112 §9.6) and a close look the
        # same here; like uvicorn, take it as the client gone, so an app that
        # listens for http.disconnect (a streaming response) hears of it.
        self.closing = self.closing or ("client", "EOF")
        return None

    def pause_writing(self) -> None:
        # The client reads slower than we write (uvicorn's FlowControl): the
        # app's send() waits on ``writable``, and reading stops too, so that a
        # client flooding pings (each answered with a pong) or requests without
        # reading the answers cannot make the write buffer grow.
        self.writable.clear()
        self.write_paused = True
        if not self.read_paused:
            self.transport.pause_reading()

    def resume_writing(self) -> None:
        self.writable.set()
        self.write_paused = False
        if not self.read_paused and not self.transport.is_closing():
            self.transport.resume_reading()

    def data_received(self, data: bytes) -> None:
        self._disarm_keep_alive()
        if not self.parsing:
            self.parsing = self.state.next_exchange()
            self.in_budget = self.recorder.max_body
            self._head_started()
        kept = data[: self.in_budget] if len(data) > self.in_budget else data
        self.in_budget -= len(kept)
        self.recorder.emit[BytesReceived](
            conn=self.conn, exchange=self.parsing, offset=self.in_offset, data=kept, size=len(data)
        )
        self.in_offset += len(data)
        if self.websocket is not None:
            self.websocket.data_received(data)
            return
        self.h11.receive_data(data)
        self.handle_events()

    # h11 events

    def handle_events(self) -> None:
        """Turn buffered bytes into h11 events and act on each, until h11 needs
        more data or pauses for a pipelined request."""
        h = self.h11
        while True:
            their_state = h.their_state
            if their_state is h11.MUST_CLOSE:
                # The request said "close" (or was HTTP/1.0): answer it, read
                # nothing more (RFC 9112 §9.6). h11 would call what follows an
                # error, and we would answer 400 instead of the app.
                self.pause_reading()
                break
            if (their_state is h11.IDLE or their_state is h11.DONE) and not unconsumed(h):
                # Nothing buffered between requests or after one (h11's buffer
                # is never closed: EOF is ours to handle): h11 would say
                # NEED_DATA, after a walk through its reader.
                break
            if their_state is h11.IDLE and has_obs_fold(h):
                self._bad_request(
                    h11.RemoteProtocolError(
                        "obsolete line folding in the request head (RFC 9112 section 5.2)",
                        error_status_hint=400,
                    )
                )
                return
            try:
                event = h.next_event()
            except h11.RemoteProtocolError as exc:
                self._bad_request(exc)
                return
            if event is h11.NEED_DATA:
                break
            if event is h11.PAUSED and self.websocket is not None:
                break  # the session answers the handshake; keep reading for EOF
            if event is h11.PAUSED:
                self.pause_reading()
                break
            # How far h11 has consumed: the event's wire range ends there.
            end = self.in_offset - unconsumed(h)
            kind = type(event)
            limit = self.state.config.h11_max_incomplete_event_size
            if kind is h11.Request and end - self.consumed > limit:
                # h11 limits only a head still arriving; hold one that arrived
                # whole to the same limit, so the answer (431, RFC 6585 §5)
                # does not depend on how TCP happened to split the bytes.
                size = end - self.consumed
                line = len(event.method) + len(event.target) + len(b"  HTTP/1.1\r\n")
                self._bad_request(
                    h11.RemoteProtocolError(
                        f"request head too long ({size} bytes, limit {limit})",
                        error_status_hint=414 if line > limit else 431,
                    )
                )
                return
            wire = (self.consumed, end)
            if kind is h11.Request:
                headers = header_fields(event.headers)  # walked once, here
                if error := _framing_error(headers):
                    self._bad_request(h11.RemoteProtocolError(error, error_status_hint=400))
                    return
                self.consumed = end
                self.head_since = None  # the head is complete: its timer is done
                if is_websocket_upgrade(headers):
                    self._start_session(event, headers, wire)
                else:
                    self._start_cycle(event, headers, wire)
                continue
            self.consumed = end
            if kind is h11.Data:
                cycle = self.cycle
                if cycle is not None and not cycle.response_complete:
                    cycle.add_body(event.data, wire)
                    if cycle.buffered > HIGH_WATER:
                        self.pause_reading()
            elif kind is h11.EndOfMessage and self.websocket is not None:
                continue  # the handshake request's end; its bytes stay the session's
            elif kind is h11.EndOfMessage:
                self.parsing = 0
                if h.our_state is h11.DONE:
                    # The app answered before reading the whole body: the
                    # request is over, serve any pipelined one.
                    h.start_next_cycle()
                    self.cycle = None
                    self.resume_reading()
                    continue
                cycle = self.cycle
                if cycle is not None:
                    cycle.end_body(wire)
            elif kind is h11.ConnectionClosed:
                break
        if self.cycle is None and self.websocket is None and not self.transport.is_closing():
            self._arm_keep_alive()

    def _start_cycle(self, request: h11.Request, headers: Headers, wire: Wire) -> None:
        exchange = self.parsing or self.state.next_exchange()
        self.parsing = exchange
        state = self.state
        scope = connection_scope(
            "http", request, headers, self.server, self.client,
            state.config.root_path, state.lifespan_state, self.secure,
        )  # fmt: skip
        if state.proxies:
            apply_proxy_headers(scope, state.proxies)
        app = state.app
        limit = state.config.limit_concurrency
        if limit is not None and (len(state.connections) >= limit or len(state.tasks) >= limit):
            # uvicorn's --limit-concurrency: the server answers in the app's place.
            app = service_unavailable
            self.recorder.record(
                ServerNote,
                conn=self.conn,
                level="warning",
                text=f"concurrency limit ({limit}) reached: 503",
            )
        cycle = RequestCycle(
            self, self.h11, exchange, scope, request.method == b"HEAD", app, state.default_headers
        )
        self.cycle = cycle
        cycle.shim.scope_created(scope, wire, snapshot_scope(scope))
        state.start_task(cycle.run(), cycle)

    def _start_session(self, request: h11.Request, headers: Headers, wire: Wire) -> None:
        """A request to upgrade to WebSocket: the rest of the connection is the
        session's (RFC 6455 §4)."""
        state = self.state
        config = state.config
        scope = connection_scope(
            "websocket", request, headers, self.server, self.client,
            config.root_path, state.lifespan_state, self.secure,
        )  # fmt: skip
        if state.proxies:
            apply_proxy_headers(scope, state.proxies)
        session = WebSocketSession(
            self, self.h11, self.parsing, request, headers, wire, scope,
            state.app, state.default_headers, config.ws_max_size, config.timeout_ws_close,
        )  # fmt: skip
        self.websocket = session
        if session.start():
            state.start_task(session.run(), session)

    def _bad_request(self, exc: h11.RemoteProtocolError) -> None:
        """Answer bytes h11 cannot parse with its status hint (400, 431) and close.

        A head over the limit whose request line alone is over it gets 414 URI Too
        Long (RFC 9110 §15.5.15; RFC 9112 §3 says 414 for a long target).
        """
        exchange = self.parsing or (self.cycle.exchange if self.cycle else 0)
        exchange = exchange or self.state.next_exchange()
        status = exc.error_status_hint
        if status == 431 and self.h11.their_state is h11.IDLE:
            limit = self.state.config.h11_max_incomplete_event_size
            if b"\n" not in self.h11.trailing_data[0][:limit]:
                status = 414
        can_answer = self.h11.our_state in (h11.IDLE, h11.SEND_RESPONSE)
        self.recorder.record(
            ProtocolError,
            conn=self.conn,
            exchange=exchange,
            by="client",
            status=status if can_answer else 0,
            detail=_reason(exc),
            wire=(self.consumed, self.in_offset),
        )
        cycle = self.cycle
        if cycle is not None:
            cycle.connection_lost(status if can_answer and cycle.exchange == exchange else 0)
        if can_answer:
            data = error_response(
                self.h11, status, b"Invalid HTTP request received.\n", [],
                self.state.default_headers(),
            )  # fmt: skip
            self.write(data, exchange, 0, len(data))
        self.consumed = self.in_offset  # recorded: connection_lost has no more to say
        self.close("server", f"invalid request: {_reason(exc)}")

    # writing and closing

    def write(self, data: bytes, exchange: int, cause: int, budget: int, hold: bool = False) -> int:
        """Write ``data`` and record it; return how much of ``budget`` it used.

        ``hold`` (a response head) keeps the bytes back until the next write, the
        end of the response or the next turn of the loop, whichever comes first,
        so that a head and a small body go out in one system call. The bytes are
        recorded, with their offset, when they are written here.
        """
        if not data:
            return 0
        kept = data[:budget] if len(data) > budget else data
        self.recorder.emit[BytesSent](
            conn=self.conn,
            exchange=exchange,
            offset=self.out_offset,
            data=kept,
            size=len(data),
            cause=cause,
        )
        self.out_offset += len(data)
        head = self.pending_head
        if hold:
            if not head:
                self.loop.call_soon(self.flush)
            self.pending_head = head + data
        elif not head:
            self.transport.write(data)
        else:
            self.pending_head = b""
            if len(data) <= COALESCE:
                self.transport.write(head + data)
            else:
                self.transport.write(head)
                self.transport.write(data)
        return len(kept)

    def flush(self) -> None:
        """Write a response head held back by :meth:`write`, if any."""
        head = self.pending_head
        if head:
            self.pending_head = b""
            if not self.transport.is_closing():
                self.transport.write(head)

    def close(self, by: str, reason: str) -> None:
        """Close the connection, recording who closed it and why."""
        if not self.transport.is_closing():
            self.closing = self.closing or (by, reason)
            self.flush()
            self.transport.close()

    def is_closing(self) -> bool:
        """True once the connection is closed or closing."""
        return self.transport.is_closing()

    def pause_reading(self) -> None:
        """Stop reading from the socket (flow control, pipelining)."""
        if not self.read_paused:
            self.read_paused = True
            if not self.write_paused:
                self.transport.pause_reading()

    def resume_reading(self) -> None:
        """Read from the socket again, unless the write buffer is still over its
        high-water mark (then :meth:`resume_writing` does)."""
        if self.read_paused:
            self.read_paused = False
            if not self.write_paused:
                self.transport.resume_reading()

    def response_complete(self) -> None:
        """The current response is fully sent: close, or serve the next request."""
        self.flush()
        h = self.h11
        if h.our_state is h11.MUST_CLOSE or self.state.should_exit:
            reason = "shutting down" if self.state.should_exit else "no keep-alive"
            self.close("server", reason)
            return
        self.resume_reading()
        if h.their_state is h11.SEND_BODY:
            # The app answered before the request body ended: what is left is
            # read and dropped (handle_events ignores it), under the idle
            # timeout, so a client that stops sending cannot hold the connection.
            self.cycle = None
            self._arm_keep_alive()
            return
        if h.our_state is h11.DONE and h.their_state is h11.DONE:
            h.start_next_cycle()
            self.cycle = None
            self.handle_events()

    def signal(self) -> asyncio.Event:
        """A new :class:`asyncio.Event`, clear."""
        return asyncio.Event()

    def call_later(
        self, delay: float, callback: Callable[..., object], *args: Any
    ) -> asyncio.TimerHandle:
        """``callback(*args)`` in ``delay`` seconds, on the connection's loop."""
        return self.loop.call_later(delay, callback, *args)

    async def to_thread(self, func: Callable[..., T], *args: Any) -> T:
        """``func(*args)`` in the default thread pool (blocking file I/O)."""
        return await asyncio.to_thread(func, *args)

    def shutdown(self) -> None:
        """Graceful shutdown: close now if idle, else after the current response."""
        if self.websocket is not None:
            self.websocket.shutdown()
            return
        if self.cycle is None or self.cycle.response_complete:
            self.close("server", "shutting down")

    # The idle timer is lazy (as in nginx): going idle and busy again only
    # notes the time; the one timer of a connection checks the note when it
    # fires and sets itself again for what is left, instead of a timer handle
    # created and cancelled for every request.

    def _arm_keep_alive(self) -> None:
        loop = self.loop
        self.idle_since = loop.time()
        if self.keep_alive_timer is None:
            self.keep_alive_timer = loop.call_later(
                self.state.config.timeout_keep_alive, self._keep_alive_expired
            )

    def _disarm_keep_alive(self) -> None:
        self.idle_since = None

    def _keep_alive_expired(self) -> None:
        self.keep_alive_timer = None
        if self.idle_since is None or self.transport.is_closing():
            return  # busy: the next _arm_keep_alive sets a timer again
        loop = self.loop
        left = self.idle_since + self.state.config.timeout_keep_alive - loop.time()
        if left > 0:
            self.keep_alive_timer = loop.call_later(left, self._keep_alive_expired)
        else:
            self.close("server", "keep-alive timeout")

    # The request head timer, lazy in the same way: the first byte of a request
    # notes the time; a head still incomplete ``timeout_request_head`` seconds
    # later is answered 408 (RFC 9110 §15.5.9) and the connection closed, so a
    # client trickling a head a byte at a time (slowloris), which resets the
    # idle timer with every byte, cannot hold its connection for ever.

    def _head_started(self) -> None:
        loop = self.loop
        self.head_since = loop.time()
        if self.head_timer is None:
            self.head_timer = loop.call_later(
                self.state.config.timeout_request_head, self._head_expired
            )

    def _head_expired(self) -> None:
        self.head_timer = None
        if self.head_since is None or self.transport.is_closing():
            return
        loop = self.loop
        timeout = self.state.config.timeout_request_head
        if self.cycle is not None or self.websocket is not None:
            # A pipelined head waits behind a response in progress: the server
            # is the slow one. The head's time starts again.
            self.head_since = loop.time()
        left = self.head_since + timeout - loop.time()
        if left > 0:
            self.head_timer = loop.call_later(left, self._head_expired)
            return
        self._bad_request(
            h11.RemoteProtocolError(
                f"request head not complete after {timeout:g} s", error_status_hint=408
            )
        )

    def _cancel_keep_alive(self) -> None:
        self.idle_since = None
        if self.keep_alive_timer is not None:
            self.keep_alive_timer.cancel()
            self.keep_alive_timer = None
