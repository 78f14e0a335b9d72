"""WebSocket over HTTP/1.1 (RFC 6455), served to the app per the ASGI WebSocket spec.

The connection hands a request over here when it asks to upgrade to
``websocket`` (RFC 6455 §4.1): h11 has parsed the opening handshake, the
:class:`WebSocketSession` validates it (§4.2.1) and runs the app. The app's
``websocket.accept`` becomes the ``101 Switching Protocols`` response (§4.2.2),
sent through h11; from then on the same connection carries frames, parsed and
built by wsproto's :class:`wsproto.connection.Connection`. The connection id
and both stream offsets carry on from the HTTP exchange, so a view shows the
handshake bytes followed by the frames. Sans-IO: the session writes, waits and
closes through its :class:`~asgi_scope.server.edge.Edge`; its state is a
:class:`SessionState`.

Every frame in either direction is recorded as a
:class:`~asgi_scope.trace.events.WebSocketFrame` with its byte range; the
receiving side finds frame boundaries with
:class:`~asgi_scope.server.frames.FrameScanner` (RFC 6455 §5.2), independent of
wsproto, which does the protocol work: unmasking, UTF-8 checks, reassembly of
fragmented messages (§5.4), control frames (§5.5).

Behaviour:

- ``websocket.connect`` first; ``websocket.accept`` (``subprotocol``, extra
  ``headers``), ``websocket.close`` before accept (``403``, §4.2.2 and the ASGI
  spec) or the denial response extension (``websocket.http.response.start`` /
  ``.body``);
- messages as ``websocket.receive`` with ``text`` or ``bytes``; a message larger
  than ``Config.ws_max_size`` bytes closes the connection with 1009 (§7.4.1);
- pings answered with pongs by the server (§5.5.2); a close frame answered with
  one (§5.5.1) and the app told ``websocket.disconnect`` with its ``code`` and
  ``reason``; a connection lost without a close frame is 1006 (§7.1.5);
- ``websocket.send`` before accept, or anything after ``websocket.close``,
  raises ``RuntimeError`` in the app and is recorded as a protocol error;
  ``websocket.send`` after the client went away raises :class:`ClientDisconnected`
  (an ``OSError``, as the spec asks);
- the app raising (or returning) before it answered the handshake gets ``500``;
  raising after accept closes with 1011 (§7.4.1).

No extension (permessage-deflate) is negotiated, so every frame's payload is
readable as it was on the wire.
"""

from __future__ import annotations

import base64
import binascii
import collections
import enum
from collections.abc import Callable
from typing import Any

import h11
from wsproto.connection import SERVER, Connection, ConnectionState
from wsproto.events import BytesMessage, CloseConnection, Message, Ping, TextMessage
from wsproto.utilities import LocalProtocolError, generate_accept_token

from asgi_scope.server.edge import APP_ERRORS, Edge, Timer
from asgi_scope.server.frames import FRAME_PAYLOAD_CAP, Frame, FrameScanner, parse_frame_header
from asgi_scope.server.responses import REASONS, error_response
from asgi_scope.server.scope import Headers
from asgi_scope.trace.events import ProtocolError, ServerNote, WebSocketFrame, Wire
from asgi_scope.trace.shim import Shim

QUEUE_HIGH_WATER = 64 * 1024
"""Bytes of received messages waiting for the app before the server stops reading
(each message counted as its payload plus :data:`MESSAGE_OVERHEAD`)."""

MESSAGE_OVERHEAD = 64
"""Bytes each queued message counts for besides its payload, so that a flood of
empty messages the app does not receive also stops the reading: about 1,024 of
them queued, plus what the one read in hand still holds (a 256 KiB read of
empty frames is queued whole before the reading stops)."""

_ANSWERS = ("websocket.accept", "websocket.http.response.start")
"""The app's answers to the opening handshake (besides ``websocket.close``)."""


class ClientDisconnected(OSError):
    """``websocket.send`` on a connection the client has closed (ASGI WebSocket
    spec: the server raises a subclass of ``OSError``)."""


def _tokens(headers: list[tuple[bytes, bytes]], name: bytes) -> list[bytes]:
    """The comma-separated, lower-cased tokens of every ``name`` header (RFC 9110 §5.6.1)."""
    out = []
    for key, value in headers:
        if key == name:
            out += [t.strip().lower() for t in value.split(b",") if t.strip()]
    return out


def _header(headers: list[tuple[bytes, bytes]], name: bytes) -> bytes | None:
    return next((value for key, value in headers if key == name), None)


def is_upgrade(headers: list[tuple[bytes, bytes]]) -> bool:
    """True if a request with ``headers`` (``(lower-case name, value)`` pairs) asks
    to upgrade to WebSocket (an ``Upgrade: websocket`` header, RFC 6455 §4.1);
    such a request is answered here, valid or not."""
    return b"websocket" in _tokens(headers, b"upgrade")


def handshake_error(
    request: h11.Request, headers: list[tuple[bytes, bytes]]
) -> tuple[int, list[tuple[bytes, bytes]], str] | None:
    """Why ``request`` (its fields in ``headers``, ``(lower-case name, value)``
    pairs) is not a valid opening handshake (RFC 6455 §4.2.1), as
    ``(status, extra headers, reason)``, or None if it is valid.

    400 for a missing or malformed part; 426 with ``Sec-WebSocket-Version: 13``
    for a version the server does not speak (§4.4).
    """
    if request.method != b"GET":
        return 400, [], "the opening handshake must be a GET request"
    if request.http_version != b"1.1":
        return 400, [], "the opening handshake must be HTTP/1.1"
    if b"upgrade" not in _tokens(headers, b"connection"):
        return 400, [], "missing 'Connection: Upgrade'"
    key = _header(headers, b"sec-websocket-key")
    if key is None:
        return 400, [], "missing Sec-WebSocket-Key"
    try:
        if len(base64.b64decode(key, validate=True)) != 16:
            raise ValueError
    except (binascii.Error, ValueError):
        return 400, [], "Sec-WebSocket-Key is not 16 bytes in base64"
    if _tokens(headers, b"sec-websocket-version") != [b"13"]:
        return 426, [(b"sec-websocket-version", b"13")], "unsupported Sec-WebSocket-Version"
    return None


class SessionState(enum.Enum):
    """Where a WebSocket session is (RFC 6455 §4, §7; ASGI WebSocket spec and its
    denial response extension)::

        CONNECTING --websocket.accept (101)--> OPEN --server's close frame--> CLOSING
            |                                    |                               |
            |                                    +--client's close, lost---------+--> CLOSED
            +--websocket.http.response.start--> DENYING --last body--> DENIED
            +--websocket.close (403), invalid handshake (400, 426), app failed (500)--> REFUSED
            +--connection lost--> CLOSED          DENYING --connection lost--> CLOSED
    """

    CONNECTING = enum.auto()
    """The opening handshake waits for the app's answer (``websocket.connect`` queued)."""
    DENYING = enum.auto()
    """The app's denial response (``websocket.http.response.start``) is under way."""
    DENIED = enum.auto()
    """The app's denial response is complete; the connection is closing."""
    OPEN = enum.auto()
    """Accepted (``101`` sent): frames flow both ways."""
    CLOSING = enum.auto()
    """The server sent a close frame and waits for the client's (§7.1.2)."""
    CLOSED = enum.auto()
    """The close handshake is over, or the connection was lost (1006)."""
    REFUSED = enum.auto()
    """The handshake was answered with an HTTP response of the server's own
    (403 for ``websocket.close`` before accept, 400 or 426 for an invalid
    handshake, 500 for an app that failed): no WebSocket; the connection is closing."""


# The states as module globals, for the hot path: on Python 3.11 looking a
# member up on its Enum class (``SessionState.OPEN``) takes about 75 ns, a
# global about 10 ns.
_CONNECTING, _DENYING, _DENIED = SessionState.CONNECTING, SessionState.DENYING, SessionState.DENIED
_OPEN, _CLOSING, _CLOSED = SessionState.OPEN, SessionState.CLOSING, SessionState.CLOSED
_REFUSED = SessionState.REFUSED


class WebSocketSession:
    """One WebSocket exchange on a connection: the opening handshake, then frames,
    and the app's ``receive`` and ``send`` over them.

    ``edge`` is the connection's I/O, ``h`` its h11 state (past the handshake
    request's head), ``exchange`` the exchange id, ``request`` the handshake
    request with its fields in ``headers`` and its bytes at ``wire``, ``scope``
    the ``websocket`` scope, ``app`` the ASGI app, ``defaults`` a function
    giving the server's own response header fields, ``max_size`` the largest
    message accepted, in bytes (larger: close 1009). ``close_timeout`` is how long,
    in seconds, the client has to answer our close frame (``--timeout-ws-close``).
    """

    def __init__(
        self,
        edge: Edge,
        h: h11.Connection,
        exchange: int,
        request: h11.Request,
        headers: Headers,
        wire: Wire,
        scope: dict[str, Any],
        app: Any,
        defaults: Callable[[], Headers],
        max_size: int,
        close_timeout: float = 5.0,
    ) -> None:
        self.edge = edge
        self.h11 = h
        self.exchange = exchange
        self.request = request
        self.headers = headers
        self.head_wire = wire
        self.scope = scope
        self.app = app
        self.defaults = defaults
        self.max_size = max_size
        self.close_timeout = close_timeout
        """Seconds to wait for the client's close frame after ours (then close)."""
        self.state = _CONNECTING
        self.app_closed = False  # the app sent websocket.close (later sends are its error)
        self.ws: Connection | None = None  # wsproto, once accepted
        self.scanner: FrameScanner | None = None
        self.pending = bytearray()  # bytes received before the handshake was answered
        # (message, wire, size in bytes) for the app's receive(), in order
        self.queue: collections.deque[tuple[dict[str, Any], Wire | None, int]] = collections.deque()
        self.queued = 0  # bytes of messages in the queue
        self.message_event = edge.signal()
        self.message: list[str | bytes] = []  # fragments of the message being received
        self.message_size = 0
        self.message_start = -1  # stream offset of its first frame
        self.message_wires: collections.deque[Wire] = collections.deque()
        self.disconnect_code = 1006
        self.disconnect_reason = ""
        self.status = 0  # the handshake's answer: 101 once accepted
        self.out_budget = edge.recorder.max_body
        self.close_timer: Timer | None = None
        self.shim = Shim(edge.recorder, edge.conn, exchange, self.receive, self.send)
        self.app_returned = False  # the app's call is over (the watchdog asks)

    @property
    def accepted(self) -> bool:
        """True once the app accepted (``101 Switching Protocols`` sent)."""
        return self.status == 101

    # the connection's side

    def start(self) -> bool:
        """Answer an invalid handshake at once (→ REFUSED) and return False; else
        queue ``websocket.connect`` and return True: the app is to be called
        (:meth:`run`)."""
        error = handshake_error(self.request, self.headers)
        if error is not None:
            status, headers, reason = error
            edge = self.edge
            edge.recorder.record(
                ProtocolError, conn=edge.conn, exchange=self.exchange, by="client",
                status=status, detail=f"invalid WebSocket handshake: {reason}",
                wire=self.head_wire,
            )  # fmt: skip
            self._respond(status, headers, reason.encode() + b"\n", 0)
            edge.close("server", f"invalid WebSocket handshake: {reason}")
            return False
        self.shim.scope_created(self.scope, self.head_wire)
        self.queue.append(({"type": "websocket.connect"}, self.head_wire, 0))
        return True

    def data_received(self, data: bytes) -> None:
        """Bytes that arrived after the handshake request (frames, once accepted)."""
        state = self.state
        if self.ws is None:
            if state is _CONNECTING or state is _DENYING:
                # The client should wait for the 101 (RFC 6455 §4.1); keep what it
                # sent early for after the accept, but read no more than that.
                self.pending += data
                if len(self.pending) > QUEUE_HIGH_WATER:
                    self.edge.pause_reading()
            return
        if state is _CLOSED:
            return
        try:
            self._frames_in(data)
        except LocalProtocolError as exc:  # bytes after the close handshake ended
            self.state = _CLOSED
            self.edge.close("server", f"WebSocket: {exc}")

    def connection_lost(self) -> None:
        """The connection closed: 1006 for the app unless a close frame came first."""
        if self.close_timer is not None:
            self.close_timer.cancel()
        if self.scanner is not None:
            frame = self.scanner.partial(self.edge.in_offset)
            if frame is not None:
                self._record_frame("in", frame, 0)
        state = self.state
        if state is not _CLOSED and state is not _DENIED and state is not _REFUSED:
            self.state = _CLOSED
            self._disconnect(1006, "")
        self.message_event.set()

    def shutdown(self) -> None:
        """Server shutdown: close 1012 (Service Restart, §7.4.1) once open, 500 before."""
        state = self.state
        if state is _OPEN:
            self._send_close(1012, "", 0)
            self._disconnect(1012, "")
        elif state is _CONNECTING:
            self.status = 500
            self._respond(500, [], b"Internal Server Error\n", 0)
        if self.state is not _REFUSED and self.state is not _DENIED:
            self.state = _CLOSED
        self.message_event.set()
        self.edge.close("server", "shutting down")

    # frames in

    def _frames_in(self, data: bytes) -> None:
        assert self.ws is not None and self.scanner is not None
        for frame in self.scanner.feed(data):
            self._record_frame("in", frame, 0)
            opcode, fin = frame[3], frame[2]
            if opcode in (0, 1, 2):
                if self.message_start < 0:
                    self.message_start = frame[0]
                if fin:
                    self.message_wires.append((self.message_start, frame[1]))
                    self.message_start = -1
        ws = self.ws
        ws.receive_data(data)
        for event in ws.events():
            if isinstance(event, (TextMessage, BytesMessage)):
                if self.state is not _OPEN:
                    continue  # the server is closing: no more messages for the app
                data_ = event.data
                self.message.append(data_)
                self.message_size += len(data_.encode() if isinstance(data_, str) else data_)
                if self.message_size > self.max_size:
                    self._fail(1009, f"message exceeds the maximum size ({self.max_size} bytes)")
                    return
                if event.message_finished:
                    self._message_done(isinstance(event, TextMessage))
            elif isinstance(event, Ping):
                if ws.state is ConnectionState.OPEN:  # not once a close is under way
                    self._write(ws.send(event.response()), 0)
            elif isinstance(event, CloseConnection):
                if ws.state is ConnectionState.REMOTE_CLOSING:  # the client began the close
                    self._write(ws.send(event.response()), 0)
                    self._disconnect(event.code, event.reason or "")
                    self.state = _CLOSED
                    self.edge.close("client", f"WebSocket close {event.code}")
                elif ws.state is ConnectionState.CLOSED:  # the client answered our close
                    self.state = _CLOSED
                    self.edge.close("server", "WebSocket closed")
                else:  # wsproto could not parse the frames: fail the connection (§7.1.7)
                    self._fail(event.code, event.reason or "invalid frame")
                return

    def _message_done(self, text: bool) -> None:
        parts, self.message = self.message, []
        size, self.message_size = self.message_size, 0
        wire = self.message_wires.popleft() if self.message_wires else None
        if text:
            message = {"type": "websocket.receive", "text": "".join(parts)}  # type: ignore[arg-type]
        else:
            message = {"type": "websocket.receive", "bytes": b"".join(parts)}  # type: ignore[arg-type]
        size += MESSAGE_OVERHEAD
        self.queue.append((message, wire, size))
        self.queued += size
        self.message_event.set()
        if self.queued > QUEUE_HIGH_WATER:
            self.edge.pause_reading()

    def _fail(self, code: int, reason: str) -> None:
        """Fail the WebSocket connection (RFC 6455 §7.1.7): close frame, then TCP
        close (→ CLOSED)."""
        if self.state is _OPEN:
            self._send_close(code, reason, 0)
        self._disconnect(code, reason)
        self.state = _CLOSED
        self.edge.close("server", f"WebSocket close {code}: {reason}")

    def _disconnect(self, code: int, reason: str) -> None:
        """Queue ``websocket.disconnect`` for the app (once)."""
        if any(m["type"] == "websocket.disconnect" for m, _, _ in self.queue):
            return
        code = int(code)  # wsproto's CloseReason is an IntEnum: the app gets a plain int
        self.disconnect_code, self.disconnect_reason = code, reason
        disconnect = {"type": "websocket.disconnect", "code": code, "reason": reason}
        self.queue.append((disconnect, None, 0))
        self.message_event.set()

    # writing

    def _write(self, data: bytes | bytearray, cause: int) -> None:
        """Write frames the server built, recording each of them."""
        edge = self.edge
        if not data or edge.is_closing():
            return
        start = edge.out_offset
        self.out_budget -= edge.write(bytes(data), self.exchange, cause, self.out_budget)
        view = memoryview(data)
        pos = 0
        while pos < len(view):
            header = parse_frame_header(view[pos : pos + 14])
            if header is None:
                break
            fin, opcode, length, hlen, _ = header
            payload = bytes(view[pos + hlen : pos + hlen + min(length, FRAME_PAYLOAD_CAP)])
            end = pos + hlen + length
            self._record_frame("out", (start + pos, start + end, fin, opcode, length, payload,
                                       True), cause)  # fmt: skip
            pos = end

    def _record_frame(self, direction: str, frame: Frame, cause: int) -> None:
        start, end, fin, opcode, length, payload, complete = frame
        edge = self.edge
        edge.recorder.emit[WebSocketFrame](
            conn=edge.conn, exchange=self.exchange, direction=direction, opcode=opcode,
            fin=fin, length=length, payload=payload, wire=(start, end), complete=complete,
            cause=cause,
        )  # fmt: skip

    def _send_close(self, code: int, reason: str, cause: int) -> None:
        """The server's close frame (§5.5.1), then wait ``close_timeout`` seconds
        seconds for the client's (→ CLOSING)."""
        assert self.ws is not None
        self.state = _CLOSING
        try:
            self._write(self.ws.send(CloseConnection(code=code, reason=reason)), cause)
        except LocalProtocolError:
            return
        edge = self.edge
        edge.resume_reading()
        self.close_timer = edge.call_later(
            self.close_timeout, edge.close, "server", "no close frame from the client"
        )

    def _respond(self, status: int, headers: Headers, body: bytes, cause: int) -> None:
        """A whole HTTP response of the server's own instead of the upgrade, then
        close (→ REFUSED)."""
        data = error_response(self.h11, status, body, headers, self.defaults())
        self.out_budget -= self.edge.write(data, self.exchange, cause, self.out_budget)
        self.state = _REFUSED

    # the app's side

    async def run(self) -> None:
        """Call the app; answer 500 or close 1011 if it fails; record how it ended."""
        shim, outcome = self.shim, "complete"
        try:
            await self.app(self.scope, shim.receive, shim.send)
        except BaseException as exc:  # the app's failure is what we show
            shim.raised(exc)
            outcome = "error"
            self._after_app(1011, "the app raised")
            if not isinstance(exc, APP_ERRORS):  # cancelled: the task's own end
                raise
        else:
            state = self.state
            if not self.accepted and state is not _DENIED and state is not _REFUSED:
                outcome = "incomplete"
            self._after_app(1000, "")
        finally:
            self.app_returned = True
            if self.accepted and self.edge.recorder.gate is not None:
                self.edge.recorder.gate.close_socket(self.exchange)
            shim.ended(self.scope, outcome, self.status)

    def compose(self, message: dict[str, Any]) -> None:
        """A ``websocket.receive`` the user composed in the inspector (trace/step.py):
        queued for the app's ``receive()`` after what the client sent so far,
        while the WebSocket is open (else a warning note)."""
        if self.state is not _OPEN:
            edge = self.edge
            edge.recorder.record(
                ServerNote, conn=edge.conn, level="warning", exchange=self.exchange,
                text=f"the composed message was not given to #{self.exchange}: it is closed",
            )  # fmt: skip
            return
        self.shim.composed.append(message)
        self.queue.append((message, None, 0))
        self.message_event.set()

    def _after_app(self, code: int, reason: str) -> None:
        """The app's call is over: finish whatever it left open."""
        edge = self.edge
        if edge.is_closing():
            return
        state = self.state
        if state is _CONNECTING:
            self.status = 500
            self._respond(500, [], b"Internal Server Error\n", 0)
            edge.close("server", "app ended before answering the WebSocket handshake")
        elif state is _DENYING:
            edge.close("server", "app ended during the denial response")
        elif state is _OPEN:
            self._send_close(code, reason, 0)
        elif not self.accepted:
            edge.close("server", "WebSocket denied")

    async def receive(self) -> tuple[dict[str, Any], Wire | None]:
        """The server's side of ASGI ``receive`` (see :class:`Shim`): ``websocket.connect``,
        then ``websocket.receive`` messages, then ``websocket.disconnect`` (again and
        again, if asked again)."""
        while not self.queue:
            state = self.state
            if state is _CLOSED or state is _DENIED or state is _REFUSED:
                code = self.disconnect_code
                return {"type": "websocket.disconnect", "code": code,
                        "reason": self.disconnect_reason}, None  # fmt: skip
            self.message_event.clear()
            await self.message_event.wait()
        message, wire, size = self.queue.popleft()
        if size:
            self.queued -= size
            if self.queued <= QUEUE_HIGH_WATER // 2 and self.state is _OPEN:
                self.edge.resume_reading()
        return message, wire

    async def send(self, message: dict[str, Any]) -> None:
        """The server's side of ASGI ``send`` (ASGI WebSocket spec, "Send events").

        Raises ``RuntimeError`` for a message the spec does not allow in the
        current state (recorded as a protocol error by the app), and
        :class:`ClientDisconnected` once the client has gone.
        """
        edge = self.edge
        if not edge.writable.is_set() and self.state is not _CLOSED:
            await edge.writable.wait()
        kind = message.get("type") if isinstance(message, dict) else None
        cause = self.shim.last_sent
        state = self.state
        try:
            if state is _CONNECTING:
                if kind == "websocket.accept":
                    self._accept(message, cause)
                elif kind == "websocket.close":
                    # Close before accept: 403 (ASGI WebSocket spec, "Close").
                    self.app_closed = True
                    self.status = 403
                    self._disconnect(1006, "")
                    self.state = _REFUSED
                    if not edge.is_closing():
                        self._respond(403, [], b"", cause)
                        edge.close("server", "WebSocket closed before accept (403)")
                elif kind == "websocket.http.response.start":
                    self._response_start(message, cause)
                else:
                    raise RuntimeError(
                        "Expected ASGI message 'websocket.accept', 'websocket.close' or "
                        f"'websocket.http.response.start', got {kind!r}."
                    )
            elif state is _DENYING or state is _DENIED:
                if kind != "websocket.http.response.body" or state is _DENIED:
                    raise RuntimeError(
                        f"Expected ASGI message 'websocket.http.response.body', got {kind!r}."
                    )
                self._response_body(message, cause)
            elif self.app_closed and kind in ("websocket.send", "websocket.close"):
                raise RuntimeError(f"Unexpected ASGI message {kind!r} after 'websocket.close'.")
            elif state is not _OPEN or edge.is_closing():
                if kind in ("websocket.send", "websocket.close") or (
                    not self.accepted and kind in _ANSWERS
                ):
                    raise ClientDisconnected(f"{kind!r} on a closed WebSocket connection")
                raise RuntimeError(f"Unexpected ASGI message {kind!r}.")
            elif kind == "websocket.send":
                data = message.get("bytes")
                data = message.get("text") if data is None else data
                if not isinstance(data, (str, bytes, bytearray)):
                    raise TypeError("websocket.send needs 'bytes' or 'text'")
                assert self.ws is not None
                self._write(self.ws.send(Message(data=data)), cause)
            elif kind == "websocket.close":
                code = message.get("code", 1000)
                reason = message.get("reason") or ""
                self.app_closed = True
                self._send_close(int(code), str(reason), cause)
                self._disconnect(int(code), str(reason))
            else:
                raise RuntimeError(
                    f"Expected ASGI message 'websocket.send' or 'websocket.close', got {kind!r}."
                )
        except (RuntimeError, TypeError, ValueError, KeyError, h11.LocalProtocolError) as exc:
            detail = f"{type(exc).__name__}: {exc}"
            edge.recorder.record(
                ProtocolError,
                conn=edge.conn,
                exchange=self.exchange,
                by="app",
                status=0,
                detail=detail,
                wire=None,
            )
            if isinstance(exc, RuntimeError):
                raise
            raise RuntimeError(f"Invalid ASGI message {kind!r}: {exc}") from exc
        except LocalProtocolError as exc:  # wsproto: the connection is already closed
            raise ClientDisconnected(str(exc)) from exc

    def _accept(self, message: dict[str, Any], cause: int) -> None:
        """``websocket.accept`` → ``101 Switching Protocols`` (RFC 6455 §4.2.2), then
        frames (→ OPEN)."""
        edge = self.edge
        subprotocol = message.get("subprotocol")
        headers = [(bytes(k).lower(), bytes(v)) for k, v in message.get("headers", ())]
        if any(k == b"sec-websocket-protocol" for k, _ in headers):
            raise ValueError("use 'subprotocol', not a sec-websocket-protocol header")
        if subprotocol is not None and subprotocol not in self.scope["subprotocols"]:
            raise ValueError(f"subprotocol {subprotocol!r} was not offered by the client")
        key = _header(self.headers, b"sec-websocket-key") or b""
        response = [
            (b"upgrade", b"websocket"),
            (b"connection", b"Upgrade"),
            (b"sec-websocket-accept", generate_accept_token(key)),
        ]
        if subprotocol is not None:
            response.append((b"sec-websocket-protocol", str(subprotocol).encode()))
        names = {k for k, _ in headers}
        response += headers + [h for h in self.defaults() if h[0] not in names]
        h = self.h11
        data = h.send(
            h11.InformationalResponse(status_code=101, headers=response, reason=REASONS[101])
        )
        self.state = _OPEN
        self.status = 101
        if edge.recorder.gate is not None:  # the composer may reach it (trace/step.py)
            edge.recorder.gate.open_socket(self.exchange, self.compose)
        self.out_budget -= edge.write(data, self.exchange, cause, self.out_budget)
        self.ws = Connection(SERVER)
        trailing = bytes(h.trailing_data[0]) + bytes(self.pending)
        self.pending.clear()
        self.scanner = FrameScanner(edge.in_offset - len(trailing))
        edge.resume_reading()
        if trailing:
            self._frames_in(trailing)

    def _response_start(self, message: dict[str, Any], cause: int) -> None:
        """``websocket.http.response.start``: the denial response's head (ASGI
        WebSocket Denial Response extension; → DENYING)."""
        status = int(message["status"])
        if not 100 <= status < 600 or status == 101:
            raise ValueError(f"invalid status {status} for a denial response")
        headers = [(bytes(k), bytes(v)) for k, v in message.get("headers", ())]
        names = {k.lower() for k, _ in headers}
        headers.append((b"connection", b"close"))
        headers += [h for h in self.defaults() if h[0] not in names]
        data = self.h11.send(h11.Response(status_code=status, headers=headers,
                                          reason=REASONS.get(status, b"")))  # fmt: skip
        self.state = _DENYING
        self.status = status
        self.out_budget -= self.edge.write(data, self.exchange, cause, self.out_budget)

    def _response_body(self, message: dict[str, Any], cause: int) -> None:
        """``websocket.http.response.body``: the denial response's body (→ DENIED
        and close when ``more_body`` is false)."""
        h = self.h11
        body = bytes(message.get("body", b""))
        data = h.send(h11.Data(data=body)) if body else b""
        done = not message.get("more_body", False)
        if done:
            data = (data or b"") + h.send(h11.EndOfMessage())
            self.state = _DENIED
        self.out_budget -= self.edge.write(data or b"", self.exchange, cause, self.out_budget)
        if done:
            self._disconnect(1006, "")
            self.edge.close("server", f"WebSocket denied ({self.status})")
