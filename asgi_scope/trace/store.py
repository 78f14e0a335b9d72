"""The store: events indexed into connections and exchanges, for views.

The store lives on the consumer's side (the UI or console thread). It pulls
events from a :class:`~asgi_scope.trace.recorder.Recorder` in batches, keeps them
in order, and keeps one :class:`Exchange` and one :class:`Connection` summary
up to date per id, so a view can show a table row or a detail pane without
walking the whole trace. Everything a view needs to know about HTTP (method,
path, status, byte ranges, state) is computed here, once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from asgi_scope.trace.events import (
    AppRaised,
    BytesReceived,
    BytesSent,
    ConnectionClosed,
    ConnectionOpened,
    Event,
    ExchangeEnded,
    MessageReceived,
    MessageSent,
    ProtocolError,
    ScopeCreated,
    ServerNote,
    WebSocketFrame,
    Wire,
)


@dataclass(slots=True)
class Exchange:
    """One request/response (or lifespan) exchange, as far as it has got.

    ``state`` is ``"open"`` (request being read or app thinking), ``"streaming"``
    (response started, body still coming), ``"done"`` or ``"error"``. Times are
    ``t_ns`` values; ``duration_ns`` is None until the exchange ends. ``wire_in``
    and ``wire_out`` are the received and sent byte ranges it spans on its
    connection, or None before any byte.

    A ``websocket`` exchange is ``"open"`` until the app's call ends; its
    ``status`` is 101 once accepted (403, 500 or the app's denial status if not),
    and ``close_code`` is the code of the first close frame either side sent
    (RFC 6455 §7.4; 1005 for a close frame without one), or the 1006 the app was
    told when the connection ended without a close frame.
    """

    id: int
    conn: int
    t_start: int
    kind: str = "http"
    method: str = ""
    path: str = ""
    status: int | None = None
    state: str = "open"
    t_end: int | None = None
    bytes_in: int = 0
    bytes_out: int = 0
    scope: dict[str, Any] | None = None
    scope_after: dict[str, Any] | None = None
    error: str = ""
    wire_in: Wire | None = None
    wire_out: Wire | None = None
    close_code: int | None = None
    events: list[Event] = field(default_factory=list)

    @property
    def duration_ns(self) -> int | None:
        """Nanoseconds from the first to the last event, once the exchange ended."""
        return None if self.t_end is None else self.t_end - self.t_start

    def messages(self) -> list[MessageReceived | MessageSent]:
        """The ASGI messages of the exchange, in the order they crossed the shim."""
        return [e for e in self.events if isinstance(e, (MessageReceived, MessageSent))]

    def frames(self) -> list[WebSocketFrame]:
        """The WebSocket frames of the exchange, both directions, in wire order."""
        return [e for e in self.events if isinstance(e, WebSocketFrame)]

    def message_of(self, frame: WebSocketFrame) -> MessageReceived | MessageSent | None:
        """The ASGI message ``frame`` became (``websocket.receive``) or was built for
        (``websocket.send``/``.close``); None for frames the server handled alone."""
        if frame.direction == "out":
            return next(
                (e for e in self.events if isinstance(e, MessageSent) and e.seq == frame.cause),
                None,
            )
        start = frame.wire[0]
        for e in self.events:
            if isinstance(e, MessageReceived) and e.wire and e.wire[0] <= start < e.wire[1]:
                return e
        return None

    def sent_wire(self, message: MessageSent) -> Wire | None:
        """The sent byte range that ``message`` became, or None if it wrote nothing."""
        spans = [
            (e.offset, e.offset + e.size)
            for e in self.events
            if isinstance(e, BytesSent) and e.cause == message.seq
        ]
        return (spans[0][0], spans[-1][1]) if spans else None


@dataclass(slots=True)
class Connection:
    """One client connection: its address, its exchanges and its raw bytes.

    ``received`` and ``sent`` are the kept chunks of each direction as
    ``(offset, data)`` pairs in stream order (data may be shorter than what was on
    the wire when a body cap cut it).
    """

    id: int
    t_open: int
    client: tuple[str, int] | None = None
    server: tuple[str, int] | None = None
    t_close: int | None = None
    closed_by: str = ""
    reason: str = ""
    exchanges: list[int] = field(default_factory=list)
    received: list[tuple[int, bytes]] = field(default_factory=list)
    sent: list[tuple[int, bytes]] = field(default_factory=list)

    def slice(self, direction: str, wire: Wire) -> list[tuple[int, bytes]]:
        """The kept chunks of ``direction`` (``"in"`` or ``"out"``) within ``wire``,
        cut to it, as ``(offset, data)`` pairs."""
        start, end = wire
        chunks = self.received if direction == "in" else self.sent
        out = []
        for offset, data in chunks:
            lo, hi = max(start, offset), min(end, offset + len(data))
            if lo < hi:
                out.append((lo, data[lo - offset : hi - offset]))
        return out


def _union(wire: Wire | None, start: int, end: int) -> Wire:
    return (start, end) if wire is None else (min(wire[0], start), max(wire[1], end))


class Store:
    """Every event so far, plus per-exchange and per-connection summaries.

    Not thread-safe: one consumer thread calls :meth:`add` and reads the rest.
    """

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.exchanges: dict[int, Exchange] = {}
        self.connections: dict[int, Connection] = {}
        self.notes: list[ServerNote] = []
        self.bytes_in = 0
        self.bytes_out = 0
        self.errors = 0

    def clear(self) -> None:
        """Forget everything recorded so far (the UI's "clear")."""
        self.__init__()

    def add(self, events: Iterable[Event]) -> set[int]:
        """Index ``events`` (in ``seq`` order); return the ids of exchanges they touched."""
        touched: set[int] = set()
        for event in events:
            self.events.append(event)
            exchange_id = getattr(event, "exchange", 0)
            if exchange_id:
                touched.add(exchange_id)
            self._index(event, exchange_id)
        return touched

    def _exchange(self, event: Event, exchange_id: int) -> Exchange:
        exchange = self.exchanges.get(exchange_id)
        if exchange is None:
            exchange = self.exchanges[exchange_id] = Exchange(exchange_id, event.conn, event.t_ns)
            conn = self.connections.get(event.conn)
            if conn is not None:
                conn.exchanges.append(exchange_id)
        return exchange

    def _index(self, event: Event, exchange_id: int) -> None:
        conn = self.connections.get(event.conn)
        if isinstance(event, ConnectionOpened):
            self.connections[event.conn] = Connection(
                event.conn, event.t_ns, event.client, event.server
            )
            return
        if isinstance(event, ConnectionClosed):
            if conn is not None:
                conn.t_close, conn.closed_by, conn.reason = event.t_ns, event.by, event.reason
            return
        if isinstance(event, ServerNote):
            self.notes.append(event)
            return
        if isinstance(event, BytesReceived):
            self.bytes_in += event.size
            if conn is not None and event.data:
                conn.received.append((event.offset, event.data))
            if exchange_id:
                self._exchange(event, exchange_id).bytes_in += event.size
            return
        if not exchange_id:
            return
        exchange = self._exchange(event, exchange_id)
        exchange.events.append(event)
        if isinstance(event, BytesSent):
            self.bytes_out += event.size
            exchange.bytes_out += event.size
            exchange.wire_out = _union(exchange.wire_out, event.offset, event.offset + event.size)
            if conn is not None and event.data:
                conn.sent.append((event.offset, event.data))
        elif isinstance(event, ScopeCreated):
            scope = event.scope
            exchange.scope = scope
            exchange.kind = scope.get("type", "?")
            exchange.method = scope.get("method", "")
            exchange.path = scope.get("path", "")
            if event.wire:
                exchange.wire_in = _union(exchange.wire_in, *event.wire)
        elif isinstance(event, MessageReceived):
            if event.wire:
                exchange.wire_in = _union(exchange.wire_in, *event.wire)
            message = event.message
            if (
                exchange.close_code is None
                and isinstance(message, dict)
                and message.get("type") == "websocket.disconnect"
            ):
                code = message.get("code")
                exchange.close_code = code if isinstance(code, int) else 1005
        elif isinstance(event, WebSocketFrame):
            if event.direction == "in":
                exchange.wire_in = _union(exchange.wire_in, *event.wire)
            if event.opcode == 8 and event.complete and exchange.close_code is None:
                code = int.from_bytes(event.payload[:2], "big")
                exchange.close_code = code if len(event.payload) >= 2 else 1005
        elif isinstance(event, MessageSent):
            self._on_sent(exchange, event.message)
        elif isinstance(event, AppRaised):
            exchange.error = f"{event.exc_type}: {event.message}"
            exchange.state = "error"
            self.errors += 1
        elif isinstance(event, ProtocolError):
            exchange.error = event.detail
            if event.by == "client":
                exchange.kind = "invalid"
                exchange.method = exchange.method or "?"
            if event.status:
                exchange.status = exchange.status or event.status
            if event.wire:
                exchange.wire_in = _union(exchange.wire_in, *event.wire)
            exchange.state = "error"
            exchange.t_end = event.t_ns
            self.errors += 1
        elif isinstance(event, ExchangeEnded):
            exchange.scope_after = event.scope
            exchange.t_end = event.t_ns
            exchange.status = event.status or exchange.status
            if exchange.state != "error":
                exchange.state = "done" if event.outcome == "complete" else "error"
                if event.outcome != "complete" and not exchange.error:
                    exchange.error = event.outcome

    @staticmethod
    def _on_sent(exchange: Exchange, message: Any) -> None:
        if not isinstance(message, dict):
            return
        kind = message.get("type")
        if kind == "websocket.accept":
            exchange.status = 101
        elif kind == "http.response.start":
            status = message.get("status")
            exchange.status = status if isinstance(status, int) else exchange.status
            exchange.state = "streaming" if exchange.state == "open" else exchange.state
        elif (
            kind == "http.response.body"
            and not message.get("more_body", False)
            and exchange.state == "streaming"
        ):
            exchange.state = "done"
