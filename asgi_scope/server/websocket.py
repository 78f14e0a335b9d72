"""WebSocket over HTTP/1.1 (RFC 6455), served to the app per the ASGI WebSocket spec 2.4.

An :class:`~asgi_scope.server.http.HTTPProtocol` hands a request over here when
it asks to upgrade to ``websocket`` (RFC 6455 §4.1): h11 has parsed the
opening handshake, the :class:`WebSocketSession` validates it (§4.2.1), builds
the ``websocket`` scope and runs the app. The app's ``websocket.accept`` becomes
the ``101 Switching Protocols`` response (§4.2.2), sent through h11; from then
on the same transport carries frames, parsed and built by wsproto's
:class:`wsproto.connection.Connection`. The connection id and both stream
offsets carry on from the HTTP protocol, so a view shows the handshake bytes
followed by the frames.

Every frame in either direction is recorded as a
:class:`~asgi_scope.trace.events.WebSocketFrame` with its byte range; the
receiving side finds frame boundaries with :class:`FrameScanner` (RFC 6455
§5.2), independent of wsproto, which does the protocol work: unmasking, UTF-8
checks, reassembly of fragmented messages (§5.4), control frames (§5.5).

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

import asyncio
import base64
import binascii
import collections
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

import h11
from wsproto.connection import SERVER, Connection, ConnectionState
from wsproto.events import BytesMessage, CloseConnection, Message, Ping, TextMessage
from wsproto.utilities import LocalProtocolError, generate_accept_token

from asgi_scope.server.state import REASONS
from asgi_scope.server.target import split_target
from asgi_scope.trace.events import ProtocolError, WebSocketFrame, Wire
from asgi_scope.trace.shim import Shim

if TYPE_CHECKING:
    from asgi_scope.server.http import HTTPProtocol

SPEC_VERSION = "2.4"
"""The ASGI WebSocket spec version of the scopes built here."""

FRAME_PAYLOAD_CAP = 1024
"""Bytes of each frame's (unmasked) payload kept in its :class:`WebSocketFrame`."""

QUEUE_HIGH_WATER = 64 * 1024
"""Bytes of received messages waiting for the app before the server stops reading."""


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


def parse_frame_header(buf: bytes | bytearray) -> tuple[bool, int, int, int, bytes | None] | None:
    """The header at the start of ``buf`` (RFC 6455 §5.2), or None if incomplete.

    Returns ``(fin, opcode, payload length in bytes, header length in bytes,
    masking key or None)``. Nothing is validated here (wsproto does that).
    """
    if len(buf) < 2:
        return None
    b0, b1 = buf[0], buf[1]
    length, pos = b1 & 0x7F, 2
    if length == 126:
        if len(buf) < 4:
            return None
        length, pos = int.from_bytes(buf[2:4], "big"), 4
    elif length == 127:
        if len(buf) < 10:
            return None
        length, pos = int.from_bytes(buf[2:10], "big"), 10
    mask = None
    if b1 & 0x80:
        if len(buf) < pos + 4:
            return None
        mask, pos = bytes(buf[pos : pos + 4]), pos + 4
    return bool(b0 & 0x80), b0 & 0x0F, length, pos, mask


def unmask(data: bytes, key: bytes | None) -> bytes:
    """A payload's ``data`` XOR the masking ``key`` (RFC 6455 §5.3)."""
    if key is None or not data:
        return bytes(data)
    n = len(data)
    stream = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(data, "big") ^ int.from_bytes(stream, "big")).to_bytes(n, "big")


Frame = tuple[int, int, bool, int, int, bytes, bool]
"""``(start, end, fin, opcode, payload length, payload kept, complete)``: one frame
found in a byte stream; ``start``/``end`` are stream offsets."""


class FrameScanner:
    """Finds frame boundaries in one direction's byte stream (RFC 6455 §5.2).

    Feed it the bytes as they arrive; it returns each frame once its last byte
    has arrived, with the first ``cap`` bytes of its payload unmasked. It keeps
    at most one header and ``cap`` payload bytes, whatever the frame size.
    """

    __slots__ = ("cap", "head", "header", "kept", "need", "offset", "start")

    def __init__(self, offset: int, cap: int = FRAME_PAYLOAD_CAP) -> None:
        self.offset = offset  # stream offset of the next byte fed
        self.start = offset  # stream offset of the frame being read
        self.cap = cap
        self.head = bytearray()
        self.header: tuple[bool, int, int, int, bytes | None] | None = None
        self.need = 0  # payload bytes still to come
        self.kept = bytearray()

    def feed(self, data: bytes) -> list[Frame]:
        """The frames that ``data`` completed, in order."""
        frames: list[Frame] = []
        i, n = 0, len(data)
        while i < n:
            if self.header is None:
                take = min(14 - len(self.head), n - i)
                self.head += data[i : i + take]
                header = parse_frame_header(self.head)
                if header is None:
                    i += take
                    continue
                extra = len(self.head) - header[3]  # bytes taken past the header
                del self.head[header[3] :]
                i += take - extra
                self.header, self.need = header, header[2]
                self.kept.clear()
            else:
                take = min(self.need, n - i)
                room = self.cap - len(self.kept)
                if room > 0:
                    self.kept += data[i : i + min(take, room)]
                self.need -= take
                i += take
            if self.header is not None and self.need == 0:
                frames.append(self._frame(self.offset + i, True))
        self.offset += n
        return frames

    def _frame(self, end: int, complete: bool) -> Frame:
        fin, opcode, length, _, mask = self.header  # type: ignore[misc]
        start = self.start
        frame = (start, end, fin, opcode, length, unmask(bytes(self.kept), mask), complete)
        self.start = end
        self.header = None
        self.head.clear()
        self.kept.clear()
        return frame

    def partial(self, offset: int) -> Frame | None:
        """The frame cut short when the stream ended at ``offset``, if any."""
        if self.header is None and not self.head:
            return None
        if self.header is None:
            return (self.start, offset, False, -1, 0, b"", False)
        return self._frame(offset, False)


class WebSocketSession:
    """One WebSocket exchange on an :class:`HTTPProtocol`'s connection: the opening
    handshake, then frames, and the app's ``receive`` and ``send`` over them."""

    def __init__(
        self,
        proto: HTTPProtocol,
        exchange: int,
        request: h11.Request,
        headers: list[tuple[bytes, bytes]],
        wire: Wire,
    ) -> None:
        self.proto = proto
        self.exchange = exchange
        self.request = request
        self.headers = headers
        """The request's header fields, ``(lower-case name, value)`` pairs."""
        self.head_wire = wire
        config = proto.state.config
        self.max_size: int = config.ws_max_size
        self.scope = self._scope(request)
        self.ws: Connection | None = None  # wsproto, once accepted
        self.scanner: FrameScanner | None = None
        self.pending = bytearray()  # bytes received before the handshake was answered
        # (message, wire, size in bytes) for the app's receive(), in order
        self.queue: collections.deque[tuple[dict[str, Any], Wire | None, int]] = collections.deque()
        self.queued = 0  # bytes of messages in the queue
        self.message_event = asyncio.Event()
        self.message: list[str | bytes] = []  # fragments of the message being received
        self.message_size = 0
        self.message_start = -1  # stream offset of its first frame
        self.message_wires: collections.deque[Wire] = collections.deque()
        self.connected_sent = False
        self.accepted = False
        self.response_started = False  # denial response under way
        self.response_complete = False
        self.close_sent = False  # a close frame (or the 403) went out
        self.app_closed = False  # ... because the app sent websocket.close
        self.closed = False  # the client is gone or the close handshake is over
        self.disconnect_code = 1006
        self.disconnect_reason = ""
        self.status = 0
        self.out_budget = proto.recorder.max_body
        self.close_timer: asyncio.TimerHandle | None = None
        self.shim = Shim(proto.recorder, proto.conn, exchange, self.receive, self.send)
        self.app_returned = False  # the app's call is over (the watchdog asks)

    def _scope(self, request: h11.Request) -> dict[str, Any]:
        """The ASGI ``websocket`` connection scope (ASGI WebSocket spec, "Connection Scope")."""
        proto = self.proto
        raw_path, query_string = split_target(request.target)  # the absolute form too
        root_path = proto.state.config.root_path
        protocols = _header(self.headers, b"sec-websocket-protocol") or b""
        return {
            "type": "websocket",
            "asgi": {"version": "3.0", "spec_version": SPEC_VERSION},
            "http_version": "1.1",
            "scheme": "ws",
            "server": proto.server,
            "client": proto.client,
            "root_path": root_path,
            "path": root_path + unquote(raw_path.decode("ascii")),
            "raw_path": root_path.encode() + raw_path,
            "query_string": query_string,
            "headers": self.headers.copy(),
            "subprotocols": [
                p.strip().decode("latin-1") for p in protocols.split(b",") if p.strip()
            ],
            "state": proto.state.lifespan_state.copy(),
            "extensions": {"websocket.http.response": {}},
        }

    # the protocol's side

    def start(self) -> None:
        """Answer an invalid handshake at once; else call the app."""
        error = handshake_error(self.request, self.headers)
        if error is not None:
            status, headers, reason = error
            proto = self.proto
            proto.recorder.record(
                ProtocolError, proto.conn, self.exchange, "client", status,
                f"invalid WebSocket handshake: {reason}", self.head_wire,
            )  # fmt: skip
            self._respond(status, headers, reason.encode() + b"\n", 0)
            self.closed = True
            proto.close("server", f"invalid WebSocket handshake: {reason}")
            return
        self.shim.scope_created(self.scope, self.head_wire)
        self.queue.append(({"type": "websocket.connect"}, self.head_wire, 0))
        self.proto.state.start_task(self.run(), self)

    def data_received(self, data: bytes) -> None:
        """Bytes that arrived after the handshake request (frames, once accepted)."""
        if self.ws is None:
            if not self.closed:
                # The client should wait for the 101 (RFC 6455 §4.1); keep what it
                # sent early for after the accept, but read no more than that.
                self.pending += data
                if len(self.pending) > QUEUE_HIGH_WATER:
                    self.proto.pause_reading()
            return
        if self.closed:
            return
        try:
            self._frames_in(data)
        except LocalProtocolError as exc:  # bytes after the close handshake ended
            self.closed = True
            self.proto.close("server", f"WebSocket: {exc}")

    def connection_lost(self) -> None:
        """The transport closed: 1006 for the app unless a close frame came first."""
        if self.close_timer is not None:
            self.close_timer.cancel()
        if self.scanner is not None:
            frame = self.scanner.partial(self.proto.in_offset)
            if frame is not None:
                self._record_frame("in", frame, 0)
        if not self.closed:
            self.closed = True
            self._disconnect(1006, "")
        self.message_event.set()

    def shutdown(self) -> None:
        """Server shutdown: close 1012 (Service Restart, §7.4.1) once open, 500 before."""
        if self.closed:
            self.proto.close("server", "shutting down")
            return
        if self.accepted and not self.close_sent:
            self._send_close(1012, "", 0)
            self._disconnect(1012, "")
        elif not self.accepted and not self.response_started:
            self.status = 500
            self._respond(500, [], b"Internal Server Error\n", 0)
        self.closed = True
        self.message_event.set()
        self.proto.close("server", "shutting down")

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
                if self.close_sent:
                    continue
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
                    self.closed = True
                    self.proto.close("client", f"WebSocket close {event.code}")
                elif ws.state is ConnectionState.CLOSED:  # the client answered our close
                    self.closed = True
                    self.proto.close("server", "WebSocket closed")
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
        self.queue.append((message, wire, size))
        self.queued += size
        self.message_event.set()
        if self.queued > QUEUE_HIGH_WATER:
            self.proto.pause_reading()

    def _fail(self, code: int, reason: str) -> None:
        """Fail the WebSocket connection (RFC 6455 §7.1.7): close frame, then TCP close."""
        if not self.close_sent:
            self._send_close(code, reason, 0)
        self._disconnect(code, reason)
        self.closed = True
        self.proto.close("server", f"WebSocket close {code}: {reason}")

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
        proto = self.proto
        if not data or proto.transport.is_closing():
            return
        start = proto.out_offset
        self.out_budget -= proto.write(bytes(data), self.exchange, cause, self.out_budget)
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
        proto = self.proto
        proto.recorder.record(
            WebSocketFrame, proto.conn, self.exchange, direction, opcode, fin, length,
            payload, (start, end), complete, cause,
        )  # fmt: skip

    def _send_close(self, code: int, reason: str, cause: int) -> None:
        assert self.ws is not None
        self.close_sent = True
        try:
            self._write(self.ws.send(CloseConnection(code=code, reason=reason)), cause)
        except LocalProtocolError:
            return
        self.proto.resume_reading()
        self.close_timer = asyncio.get_running_loop().call_later(
            self.proto.state.config.timeout_ws_close, self.proto.close, "server",
            "no close frame from the client",
        )

    def _respond(self, status: int, headers: list[tuple[bytes, bytes]], body: bytes,
                 cause: int) -> None:  # fmt: skip
        """A whole HTTP response instead of the upgrade, then close (the denial)."""
        self.out_budget -= self.proto.send_error(
            self.exchange, status, body, headers, cause, self.out_budget
        )
        self.response_complete = True

    # the app's side

    async def run(self) -> None:
        """Call the app; answer 500 or close 1011 if it fails; record how it ended."""
        shim, outcome = self.shim, "complete"
        try:
            await self.proto.state.app(self.scope, shim.receive, shim.send)
        except BaseException as exc:  # the app's failure is what we show
            shim.raised(exc)
            outcome = "error"
            self._after_app(1011, "the app raised")
            if not isinstance(exc, Exception):
                raise
        else:
            if not self.accepted and not self.response_complete:
                outcome = "incomplete"
            self._after_app(1000, "")
        finally:
            self.app_returned = True
            shim.ended(self.scope, outcome, self.status)

    def _after_app(self, code: int, reason: str) -> None:
        """The app's call is over: finish whatever it left open."""
        proto = self.proto
        if proto.transport.is_closing():
            return
        if not self.accepted and not self.response_started:
            self.status = 500
            self._respond(500, [], b"Internal Server Error\n", 0)
            proto.close("server", "app ended before answering the WebSocket handshake")
        elif self.response_started and not self.response_complete:
            proto.close("server", "app ended during the denial response")
        elif self.accepted and not self.close_sent and not self.closed:
            self._send_close(code, reason, 0)
        elif not self.accepted:
            proto.close("server", "WebSocket denied")

    async def receive(self) -> tuple[dict[str, Any], Wire | None]:
        """The server's side of ASGI ``receive`` (see :class:`Shim`): ``websocket.connect``,
        then ``websocket.receive`` messages, then ``websocket.disconnect`` (again and
        again, if asked again)."""
        while not self.queue:
            if self.closed or (self.close_sent and not self.accepted):
                code = self.disconnect_code
                return {"type": "websocket.disconnect", "code": code,
                        "reason": self.disconnect_reason}, None  # fmt: skip
            self.message_event.clear()
            await self.message_event.wait()
        message, wire, size = self.queue.popleft()
        if size:
            self.queued -= size
            if self.queued <= QUEUE_HIGH_WATER // 2 and not self.close_sent:
                self.proto.resume_reading()
        return message, wire

    async def send(self, message: dict[str, Any]) -> None:
        """The server's side of ASGI ``send`` (ASGI WebSocket spec, "Send events").

        Raises ``RuntimeError`` for a message the spec does not allow in the
        current state (recorded as a protocol error by the app), and
        :class:`ClientDisconnected` once the client has gone.
        """
        proto = self.proto
        if not proto.writable.is_set() and not self.closed:
            await proto.writable.wait()
        kind = message.get("type") if isinstance(message, dict) else None
        cause = self.shim.last_sent
        try:
            if not self.accepted and not self.response_started and not self.close_sent:
                if kind == "websocket.accept":
                    self._accept(message, cause)
                elif kind == "websocket.close":
                    # Close before accept: 403 (ASGI WebSocket spec, "Close").
                    self.close_sent = self.app_closed = True
                    self.status = 403
                    self._disconnect(1006, "")
                    if not proto.transport.is_closing():
                        self._respond(403, [], b"", cause)
                        proto.close("server", "WebSocket closed before accept (403)")
                elif kind == "websocket.http.response.start":
                    self._response_start(message, cause)
                else:
                    raise RuntimeError(
                        "Expected ASGI message 'websocket.accept', 'websocket.close' or "
                        f"'websocket.http.response.start', got {kind!r}."
                    )
            elif self.response_started:
                if kind != "websocket.http.response.body" or self.response_complete:
                    raise RuntimeError(
                        f"Expected ASGI message 'websocket.http.response.body', got {kind!r}."
                    )
                self._response_body(message, cause)
            elif self.app_closed and kind in ("websocket.send", "websocket.close"):
                raise RuntimeError(f"Unexpected ASGI message {kind!r} after 'websocket.close'.")
            elif self.closed or self.close_sent or proto.transport.is_closing():
                if kind in ("websocket.send", "websocket.close"):
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
            proto.recorder.record(ProtocolError, proto.conn, self.exchange, "app", 0, detail, None)
            if isinstance(exc, RuntimeError):
                raise
            raise RuntimeError(f"Invalid ASGI message {kind!r}: {exc}") from exc
        except LocalProtocolError as exc:  # wsproto: the connection is already closed
            raise ClientDisconnected(str(exc)) from exc

    def _accept(self, message: dict[str, Any], cause: int) -> None:
        """``websocket.accept`` → ``101 Switching Protocols`` (RFC 6455 §4.2.2), then frames."""
        proto = self.proto
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
        response += headers + [h for h in proto.state.default_headers() if h[0] not in names]
        data = proto.h11.send(
            h11.InformationalResponse(status_code=101, headers=response, reason=REASONS[101])
        )
        self.accepted = True
        self.status = 101
        self.out_budget -= proto.write(data, self.exchange, cause, self.out_budget)
        self.ws = Connection(SERVER)
        trailing = bytes(proto.h11.trailing_data[0]) + bytes(self.pending)
        self.pending.clear()
        self.scanner = FrameScanner(proto.in_offset - len(trailing))
        proto.resume_reading()
        if trailing:
            self._frames_in(trailing)

    def _response_start(self, message: dict[str, Any], cause: int) -> None:
        """``websocket.http.response.start``: the denial response's head (ASGI
        WebSocket Denial Response extension)."""
        status = int(message["status"])
        if not 100 <= status < 600 or status == 101:
            raise ValueError(f"invalid status {status} for a denial response")
        headers = [(bytes(k), bytes(v)) for k, v in message.get("headers", ())]
        names = {k.lower() for k, _ in headers}
        headers.append((b"connection", b"close"))
        headers += [h for h in self.proto.state.default_headers() if h[0] not in names]
        h = self.proto.h11
        data = h.send(h11.Response(status_code=status, headers=headers,
                                   reason=REASONS.get(status, b"")))  # fmt: skip
        self.response_started = True
        self.status = status
        self.out_budget -= self.proto.write(data, self.exchange, cause, self.out_budget)

    def _response_body(self, message: dict[str, Any], cause: int) -> None:
        h = self.proto.h11
        body = bytes(message.get("body", b""))
        data = h.send(h11.Data(data=body)) if body else b""
        if not message.get("more_body", False):
            data = (data or b"") + h.send(h11.EndOfMessage())
            self.response_complete = True
        self.out_budget -= self.proto.write(data or b"", self.exchange, cause, self.out_budget)
        if self.response_complete:
            self._disconnect(1006, "")
            self.closed = True
            self.proto.close("server", f"WebSocket denied ({self.status})")
