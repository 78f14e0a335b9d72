"""HTTP/1.1 and HTTP/1.0 over h11: one :class:`HTTPProtocol` per connection.

An :class:`asyncio.Protocol` (as uvicorn's ``h11_impl``): the event loop calls
``data_received`` with bytes, h11 turns them into events (RFC 9112), and each
request becomes one :class:`RequestCycle` that runs the app in a task. Every
byte in and out is recorded with its stream offset, and every parsed event's
byte range comes from how much of h11's receive buffer it consumed.

Behaviour (RFC 9112 and the ASGI HTTP spec 2.3):

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
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

import h11

from asgi_scope.server.state import REASONS
from asgi_scope.server.target import split_target
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
from asgi_scope.trace.shim import Shim
from asgi_scope.trace.snapshot import snapshot

if TYPE_CHECKING:
    from asgi_scope.server.state import ServerState

HIGH_WATER = 64 * 1024
"""Bytes of request body buffered for the app before the server stops reading."""

COALESCE = 16 * 1024
"""A response head goes out in one write with body bytes up to this size."""

_TEXT_PLAIN = [(b"content-type", b"text/plain; charset=utf-8")]


def _headers(headers: h11._headers.Headers) -> list[tuple[bytes, bytes]]:
    """h11's parsed headers as ASGI's list of (lower-cased name, value) pairs."""
    items = getattr(headers, "_full_items", None)  # iterating Headers goes item by item
    if items is None:  # pragma: no cover - another h11
        return list(headers)
    return [(name, value) for _, name, value in items]


def _extensions() -> dict[str, dict[str, Any]]:
    """The ``scope["extensions"]`` this server offers (only those it implements)."""
    return {"http.response.trailers": {}, "http.response.pathsend": {}, "http.response.debug": {}}


def _snapshot_scope(scope: dict[str, Any]) -> dict[str, Any]:
    """A snapshot, for the trace, of a scope :meth:`HTTPProtocol._scope` built:
    what :func:`~asgi_scope.trace.snapshot.snapshot` makes of it, without walking
    what the server knows the shape of (header pairs are tuples of bytes)."""
    return {
        **scope,
        "asgi": scope["asgi"].copy(),
        "headers": scope["headers"].copy(),
        "state": snapshot(scope["state"]),
        "extensions": _extensions(),
    }


_BYTEARRAY = re.compile(r"""bytearray\((b'(?:[^'\\]|\\.)*'|b"(?:[^"\\]|\\.)*")\)""")


def _reason(exc: h11.ProtocolError) -> str:
    """h11's reason for refusing the bytes, as a person reads it: the bytes it
    quotes as ``bytearray(b'...')`` (its buffer's type) shown as ``b'...'``."""
    return _BYTEARRAY.sub(r"\1", str(exc))


def _address(transport: asyncio.BaseTransport, name: str) -> tuple[str, int] | None:
    info = transport.get_extra_info(name)
    return (str(info[0]), int(info[1])) if isinstance(info, tuple) else None


async def service_unavailable(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The answer past ``--limit-concurrency``: 503 and close (as uvicorn's)."""
    body = b"Service Unavailable"
    headers = [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": 503, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _has_obs_fold(h: h11.Connection) -> bool:
    """True if the complete request head waiting in ``h``'s buffer folds a header
    line (a line starting with SP or HTAB, RFC 9112 §5.2). h11 would unfold it;
    a server may instead reject it with 400, and this one does, so what the app
    sees is what the client sent. A head not yet complete is not judged."""
    # h11's buffer, searched in place (h11 is pinned below 0.17): the public
    # trailing_data copies it, every time a head is looked at.
    data = h._receive_buffer._data
    end = data.find(b"\r\n\r\n")
    if end < 0:
        return False
    return data.find(b"\n ", 0, end) >= 0 or data.find(b"\n\t", 0, end) >= 0


def _framing_error(headers: list[tuple[bytes, bytes]]) -> str:
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
    """One client connection, parsed by h11, served by the app, recorded."""

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
        self.in_offset = 0  # bytes received so far
        self.consumed = 0  # bytes of those h11 has turned into events
        self.out_offset = 0  # bytes sent so far
        self.parsing = 0  # id of the exchange whose bytes are arriving, 0 between requests
        self.in_budget = 0  # raw received bytes still to keep for that exchange
        self.cycle: RequestCycle | None = None
        self.read_paused = False
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
            if not cycle.response_complete:
                cycle.disconnected = True
            cycle.message_event.set()

    def eof_received(self) -> bool | None:
        # The client's FIN. A half-close (RFC 9112 §9.6) and a close look the
        # same here; like uvicorn, take it as the client gone, so an app that
        # listens for http.disconnect (a streaming response) hears of it.
        self.closing = self.closing or ("client", "EOF")
        return None

    def pause_writing(self) -> None:
        self.writable.clear()

    def resume_writing(self) -> None:
        self.writable.set()

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
            if h.their_state is h11.MUST_CLOSE:
                # The request said "close" (or was HTTP/1.0): answer it, read
                # nothing more (RFC 9112 §9.6). h11 would call what follows an
                # error, and we would answer 400 instead of the app.
                self.pause_reading()
                break
            if h.their_state is h11.IDLE and _has_obs_fold(h):
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
            # How far h11 has consumed: the event's wire range ends there. The
            # public trailing_data copies the buffer; its length is all we need.
            end = self.in_offset - len(h._receive_buffer)
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
                headers = _headers(event.headers)  # walked once, here
                if error := _framing_error(headers):
                    self._bad_request(h11.RemoteProtocolError(error, error_status_hint=400))
                    return
                self.consumed = end
                self.head_since = None  # the head is complete: its timer is done
                if is_websocket_upgrade(headers):
                    self.websocket = WebSocketSession(self, self.parsing, event, headers, wire)
                    self.websocket.start()
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

    def _start_cycle(
        self, request: h11.Request, headers: list[tuple[bytes, bytes]], wire: Wire
    ) -> None:
        exchange = self.parsing or self.state.next_exchange()
        self.parsing = exchange
        scope = self._scope(request, headers)
        cycle = RequestCycle(self, exchange, scope, request.method == b"HEAD")
        limit = self.state.config.limit_concurrency
        state = self.state
        if limit is not None and (len(state.connections) >= limit or len(state.tasks) >= limit):
            # uvicorn's --limit-concurrency: the server answers in the app's place.
            cycle.app = service_unavailable
            self.recorder.record(
                ServerNote,
                conn=self.conn,
                level="warning",
                text=f"concurrency limit ({limit}) reached: 503",
            )
        self.cycle = cycle
        cycle.shim.scope_created(scope, wire, _snapshot_scope(scope))
        self.state.start_task(cycle.run(), cycle)

    def _scope(self, request: h11.Request, headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
        """The ASGI HTTP connection scope (ASGI HTTP spec 2.3, "Connection Scope"),
        with ``headers`` as its ``headers``."""
        raw_path, query_string = split_target(request.target)
        root_path = self.state.config.root_path
        return {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": request.http_version.decode("ascii"),
            "server": self.server,
            "client": self.client,
            "scheme": "http",
            "method": request.method.decode("ascii"),
            "root_path": root_path,
            "path": root_path + unquote(raw_path.decode("ascii")),
            "raw_path": root_path.encode() + raw_path,
            "query_string": query_string,
            "headers": headers,
            "state": self.state.lifespan_state.copy(),
            "extensions": _extensions(),
        }

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
            cycle.disconnected = True
            if can_answer and cycle.exchange == exchange:
                cycle.status = status  # what the client got, for ExchangeEnded
            cycle.message_event.set()
        if can_answer:
            self.send_error(exchange, status, b"Invalid HTTP request received.\n")
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

    def send_error(
        self,
        exchange: int,
        status: int,
        body: bytes,
        headers: list[tuple[bytes, bytes]] | None = None,
        cause: int = 0,
        budget: int | None = None,
    ) -> int:
        """Send a short response of the server's own, with ``Connection: close``:
        an error answer (400, 500, 503), or a WebSocket handshake refused.

        ``body`` is plain text (sent with ``Content-Type: text/plain``, none when
        empty); ``headers`` are added to the server's own; ``cause`` is the
        ``seq`` of the message it answers (0: the server's own answer). Returns
        how much of ``budget`` (bytes kept in the trace; all, when None) it used.
        The answer to a HEAD request has no body (RFC 9110 §9.3.2); h11 frames it
        so (a body would raise), and knows the method only privately.
        """
        h = self.h11
        body_sent = b"" if getattr(h, "_request_method", None) == b"HEAD" else body
        fields = [
            *(headers or ()),
            *(_TEXT_PLAIN if body else ()),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
            *self.state.default_headers(),
        ]
        data = h.send(
            h11.Response(status_code=status, headers=fields, reason=REASONS.get(status, b""))
        )
        if body_sent:
            data += h.send(h11.Data(data=body_sent))
        data += h.send(h11.EndOfMessage())
        return self.write(data, exchange, cause, len(data) if budget is None else budget)

    def close(self, by: str, reason: str) -> None:
        """Close the connection, recording who closed it and why."""
        if not self.transport.is_closing():
            self.closing = self.closing or (by, reason)
            self.flush()
            self.transport.close()

    def pause_reading(self) -> None:
        """Stop reading from the socket (flow control, pipelining)."""
        if not self.read_paused:
            self.read_paused = True
            self.transport.pause_reading()

    def resume_reading(self) -> None:
        """Read from the socket again."""
        if self.read_paused:
            self.read_paused = False
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


class RequestCycle:
    """One request/response exchange: the app's ``receive`` and ``send`` over h11."""

    def __init__(self, proto: HTTPProtocol, exchange: int, scope: dict[str, Any], head: bool):
        self.proto = proto
        self.exchange = exchange
        self.scope = scope
        self.head_only = head
        self.body: list[bytes] = []
        self.buffered = 0
        self.body_wire: Wire | None = None
        self.more_body = True
        self.body_delivered = False  # the last http.request went to the app
        self.disconnected = False
        self.response_started = False
        self.response_complete = False
        self.trailers = False  # the app promised http.response.trailers
        self.trailers_due = False  # the body is done, the trailers are not
        self.trailer_fields: list[tuple[bytes, bytes]] = []
        self.chunked = False
        self.status = 0
        self.out_budget = proto.recorder.max_body
        self.message_event = asyncio.Event()
        self.shim = Shim(proto.recorder, proto.conn, exchange, self.receive, self.send)
        self.app = proto.state.app  # or the server's own 503 answer, past the limit
        self.app_returned = False  # the app's call is over (the watchdog asks)

    # fed by the protocol

    def add_body(self, data: bytes, wire: Wire) -> None:
        """Buffer a body chunk h11 parsed from ``wire``, for the next ``receive()``."""
        self.body.append(data)
        self.buffered += len(data)
        self.body_wire = wire if self.body_wire is None else (self.body_wire[0], wire[1])
        self.message_event.set()

    def end_body(self, wire: Wire) -> None:
        """The request body is complete (``wire``: the final chunk and trailers)."""
        self.more_body = False
        if wire[1] > wire[0]:
            self.body_wire = wire if self.body_wire is None else (self.body_wire[0], wire[1])
        self.message_event.set()

    # running the app

    async def run(self) -> None:
        """Call the app; answer 500 or close if it fails; record how it ended."""
        shim = self.shim
        outcome = "complete"
        try:
            await self.app(self.scope, shim.receive, shim.send)
        except BaseException as exc:  # the app's failure is what we show
            shim.raised(exc)
            outcome = "error"
            self._fail()
            if not isinstance(exc, Exception):
                raise
        else:
            if not self.response_complete:
                outcome = "disconnect" if self.disconnected else "incomplete"
                self._fail()
        finally:
            self.app_returned = True
            shim.ended(self.scope, outcome, self.status)

    def _fail(self) -> None:
        """The app raised or returned early: answer 500 if nothing was sent yet,
        close if a response was under way. A complete response stands, and so
        does its keep-alive connection."""
        proto = self.proto
        if self.disconnected or self.response_complete or proto.transport.is_closing():
            return
        if not self.response_started:
            self.response_started = True
            self.status = 500
            self._send_500()
            self.response_complete = True
            self.message_event.set()
            proto.close("server", "app failed before responding")
        else:
            proto.close("server", "app failed during the response")

    async def receive(self) -> tuple[dict[str, Any], Wire | None]:
        """The server's side of ASGI ``receive`` (see :class:`Shim`)."""
        proto = self.proto
        if (
            not self.response_started
            and not self.disconnected
            and proto.h11.they_are_waiting_for_100_continue
        ):
            data = proto.h11.send(
                h11.InformationalResponse(status_code=100, headers=[], reason=b"Continue")
            )
            self.out_budget -= proto.write(data, self.exchange, 0, self.out_budget)
        # Wait until there is something new to give: body, the end of the body
        # (once), or the end of the exchange. After the last ``http.request``
        # the next receive() blocks until http.disconnect is due (as uvicorn
        # does), so an app listening for disconnect does not spin.
        while not self.disconnected and not self.response_complete:
            if self.body or (not self.more_body and not self.body_delivered):
                break
            proto.resume_reading()
            self.message_event.clear()
            await self.message_event.wait()
        if self.disconnected or self.response_complete:
            return {"type": "http.disconnect"}, None
        body = b"".join(self.body)
        wire = self.body_wire
        self.body.clear()
        self.buffered = 0
        self.body_wire = None
        proto.resume_reading()
        self.body_delivered = not self.more_body
        return {"type": "http.request", "body": body, "more_body": self.more_body}, wire

    async def send(self, message: dict[str, Any]) -> None:
        """The server's side of ASGI ``send``: turn the message into h11 events.

        Raises ``RuntimeError`` for a message out of order or of the wrong type
        and for one h11 refuses (bad header, more body than Content-Length); the
        connection is then closed.
        """
        proto = self.proto
        if not proto.writable.is_set() and not self.disconnected:
            await proto.writable.wait()
        if self.disconnected:
            return
        kind = message.get("type") if isinstance(message, dict) else None
        if kind == "http.response.debug" and not self.response_started:
            return  # the debug extension: the shim recorded it, nothing goes on the wire
        if kind == "http.response.pathsend" and self.response_started and not self.trailers_due:
            await self._pathsend(message)
            return
        head = False
        try:
            if self.trailers_due:
                if kind != "http.response.trailers":
                    raise RuntimeError(f"Expected 'http.response.trailers', got {kind!r}.")
                data = self._trailers(message)
            elif not self.response_started:
                if kind != "http.response.start":
                    raise RuntimeError(f"Expected 'http.response.start', got {kind!r}.")
                data = self._start(message)
                head = True
            elif not self.response_complete:
                if kind != "http.response.body":
                    raise RuntimeError(f"Expected 'http.response.body', got {kind!r}.")
                data = self._body(message)
            else:
                raise RuntimeError(f"Unexpected {kind!r}: the response is already complete.")
        except h11.LocalProtocolError as exc:
            self._refused(str(exc))
            raise RuntimeError(f"Invalid HTTP response: {exc}") from exc
        except (KeyError, TypeError, ValueError) as exc:
            self._refused(f"invalid {kind!r} message: {exc!r}")
            raise RuntimeError(f"Invalid ASGI message {kind!r}: {exc!r}") from exc
        self.out_budget -= proto.write(
            data, self.exchange, self.shim.last_sent, self.out_budget, head
        )
        if self.response_complete:
            self.message_event.set()
            proto.response_complete()

    def _start(self, message: dict[str, Any]) -> bytes:
        status = message["status"]
        headers = [(bytes(name), bytes(value)) for name, value in message.get("headers", ())]
        names = {name.lower() for name, _ in headers}
        headers += [h for h in self.proto.state.default_headers() if h[0] not in names]
        if self.proto.h11.they_are_waiting_for_100_continue and b"connection" not in names:
            # A final answer before 100 Continue: the client may send the body
            # anyway or not at all, so the stream cannot carry another request
            # (RFC 9110 §10.1.1). Close after this response.
            headers.append((b"connection", b"close"))
        response = h11.Response(
            status_code=status, headers=headers, reason=REASONS.get(status, b"")
        )
        data = self.proto.h11.send(response)
        self.response_started = True
        self.status = status
        # http.response.trailers extension: the body's end waits for the trailers,
        # which only a chunked body can carry (RFC 9112 §7.1.2).
        self.trailers = bool(message.get("trailers", False))
        self.chunked = b"\r\ntransfer-encoding: chunked\r\n" in data.lower()
        return data

    def _body(self, message: dict[str, Any]) -> bytes:
        body = message.get("body", b"")
        h = self.proto.h11
        data = h.send(h11.Data(data=body)) if body and not self.head_only else b""
        if not message.get("more_body", False):
            if self.trailers:
                self.trailers_due = True
                return data or b""
            data = (data or b"") + h.send(h11.EndOfMessage())
            self.response_complete = True
        return data or b""

    def _trailers(self, message: dict[str, Any]) -> bytes:
        """``http.response.trailers``: the trailer section (RFC 9112 §7.1.2) and the
        end of the response, once ``more_trailers`` is false. A response not sent
        chunked (Content-Length, HTTP/1.0, HEAD) cannot carry trailers: they are
        dropped, with a note."""
        self.trailer_fields += [(bytes(n), bytes(v)) for n, v in message.get("headers", ())]
        if message.get("more_trailers", False):
            return b""
        fields, self.trailer_fields = self.trailer_fields, []
        if fields and not (self.chunked and not self.head_only):
            proto = self.proto
            proto.recorder.record(
                ServerNote, conn=proto.conn, level="warning",
                text=f"#{self.exchange}: {len(fields)} trailer field(s) dropped: body not chunked",
            )  # fmt: skip
            fields = []
        self.trailers_due = False
        self.response_complete = True
        return self.proto.h11.send(h11.EndOfMessage(headers=fields))

    async def _pathsend(self, message: dict[str, Any]) -> None:
        """``http.response.pathsend``: the server sends the file at ``path`` as the
        whole body (64 KiB at a time, reading off the event loop), then ends the
        response. Raises ``RuntimeError`` if the file cannot be read."""
        proto = self.proto
        path = message.get("path")
        cause = self.shim.last_sent
        try:
            if self.response_complete:
                raise RuntimeError("Unexpected 'http.response.pathsend': the response is complete.")
            if not isinstance(path, str):
                raise TypeError(f"'path' must be a str, not {type(path).__name__}")
            file = await asyncio.to_thread(open, path, "rb")
        except (OSError, TypeError, RuntimeError) as exc:
            self._refused(f"invalid 'http.response.pathsend': {exc}")
            raise RuntimeError(f"Invalid 'http.response.pathsend': {exc}") from exc
        h = proto.h11
        try:
            while not self.head_only and not self.disconnected:
                chunk = await asyncio.to_thread(file.read, HIGH_WATER)
                if not chunk:
                    break
                data = h.send(h11.Data(data=chunk))
                self.out_budget -= proto.write(data, self.exchange, cause, self.out_budget)
                if not proto.writable.is_set():
                    await proto.writable.wait()
        finally:
            file.close()
        if self.disconnected:
            return
        try:
            data = h.send(h11.EndOfMessage())
        except h11.LocalProtocolError as exc:  # the file and Content-Length disagree
            self._refused(str(exc))
            raise RuntimeError(f"Invalid HTTP response: {exc}") from exc
        self.out_budget -= proto.write(data, self.exchange, cause, self.out_budget)
        self.response_complete = True
        self.message_event.set()
        proto.response_complete()

    def _refused(self, detail: str) -> None:
        """h11 or the message shape refused what the app sent: record it, answer
        500 if nothing of the response is on the wire yet (a bad status or
        header in ``http.response.start``), and close."""
        proto = self.proto
        can_answer = not self.response_started and proto.h11.our_state is h11.SEND_RESPONSE
        status = 500 if can_answer else 0
        proto.recorder.record(
            ProtocolError,
            conn=proto.conn,
            exchange=self.exchange,
            by="app",
            status=status,
            detail=detail,
            wire=None,
        )
        if can_answer:
            self.response_started = True
            self.status = status
            self._send_500()
        self.response_complete = True
        proto.close("server", "app broke the protocol")

    def _send_500(self) -> None:
        """The server's own 500 in the app's place (nothing of a response sent yet)."""
        self.out_budget -= self.proto.send_error(
            self.exchange, 500, b"Internal Server Error\n", budget=self.out_budget
        )
