"""The store: events indexed into connections and exchanges, for views.

The store lives on the consumer's side (the UI or console thread). It pulls
events from a :class:`~asgi_scope.trace.recorder.Recorder` in batches, keeps them
in order, and keeps one :class:`Exchange` and one :class:`Connection` summary
up to date per id, so a view can show a table row or a detail pane without
walking the whole trace. Everything a view needs to know about HTTP (method,
path, status, byte ranges, state) is computed here, once.

Memory is bounded by the store's caps, not by how long the session runs:
``keep`` exchanges at most, and ``keep_bytes`` of bodies and raw bytes. Past
either, the oldest whole exchanges are dropped (their events, their raw bytes,
their connection once it is closed and has no exchange left) and counted in
:attr:`Store.dropped`; a view removes their rows by :meth:`Store.take_evicted`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from asgi_scope.trace.events import (
    AppRaised,
    BytesReceived,
    BytesSent,
    ConnectionClosed,
    ConnectionOpened,
    ConnectionOrigin,
    Event,
    ExchangeEnded,
    LayerReceived,
    LayerSent,
    LifespanState,
    MessageReceived,
    MessageSent,
    OtelSpan,
    Party,
    ProtocolError,
    ProxyTimings,
    ScopeCreated,
    ServerNote,
    Source,
    SpecViolation,
    UpstreamBytes,
    WebSocketFrame,
    Wire,
)
from asgi_scope.trace.rules import COUNTED, severity_of

ExchangeState = Literal["open", "streaming", "done", "error", "client gone"]
"""Where an exchange has got (see :class:`Exchange`)."""


@dataclass(slots=True)
class Exchange:
    """One request/response (or lifespan) exchange, as far as it has got.

    ``state`` is ``"open"`` (request being read or app thinking), ``"streaming"``
    (response started, body still coming), ``"done"``, ``"error"`` or ``"client
    gone"`` (the client left before the response was complete, as a browser
    leaving an event stream does: not a fault of the app's). Times are
    ``t_ns`` values; ``duration_ns`` is None until the exchange ends. ``wire_in``
    and ``wire_out`` are the received and sent byte ranges it spans on its
    connection, or None before any byte.

    A ``websocket`` exchange is ``"open"`` until the app's call ends; its
    ``status`` is 101 once accepted (403, 500 or the app's denial status if not),
    and ``close_code`` is the code of the first close frame either side sent
    (RFC 6455 §7.4; 1005 for a close frame without one), or the 1006 the app was
    told when the connection ended without a close frame. A ``lifespan``
    exchange keeps ``lifespan_state``: the state the app set during startup,
    once startup completed.
    """

    id: int
    conn: int
    t_start: int
    kind: str = "http"
    method: str = ""
    path: str = ""
    status: int | None = None
    state: ExchangeState = "open"
    t_end: int | None = None
    bytes_out: int = 0
    scope: dict[str, Any] | None = None
    scope_after: dict[str, Any] | None = None
    error: str = ""
    wire_in: Wire | None = None
    wire_out: Wire | None = None
    close_code: int | None = None
    lifespan_state: dict[str, Any] | None = None
    violations: int = 0
    """Spec violations found in this exchange (:class:`SpecViolation` events) of the
    severities that count (errors and warnings: ``trace/rules``)."""
    pid: int = 0
    """The pid of the process that recorded it, when attached to a stream
    (its connection's :class:`ConnectionOrigin`); 0 for our own server."""
    raw: bool = True
    """Whether its connection's raw bytes were recorded (False in middleware
    mode: then ``bytes_in`` and ``bytes_out`` are unknown, not 0)."""
    source: Source | Literal[""] = ""
    """Who recorded it when not our own server (its connection's
    :class:`ConnectionOrigin`): ``"otel"`` for an OpenTelemetry SERVER span,
    which has no scope (``scope`` stays None) and no bytes."""
    kept: int = 0
    """Bytes of bodies and raw bytes this exchange holds (its share of the byte budget)."""
    received: tuple[int, int] | None = None
    """``t_ns`` of the first and the last byte received for it (None before any)."""
    previous: int = 0
    """The id of the exchange before it on its connection (0: none)."""
    unkept: int = 0
    """Its streamed events past :data:`EVENTS_KEPT`, counted in its summary, not kept."""
    events: list[Event] = field(default_factory=list)

    @property
    def bytes_in(self) -> int:
        """Bytes of the request read off the wire so far: the span of ``wire_in``
        (so pipelined requests that arrived in one read are counted apart)."""
        return 0 if self.wire_in is None else self.wire_in[1] - self.wire_in[0]

    @property
    def path_query(self) -> str:
        """The scope's ``path`` and, after ``?``, its ``query_string`` (decoded as
        latin-1, as the bytes came): what the request asked for, unescaped (pass it
        through :func:`~asgi_scope.trace.safe.safe_text` to show it)."""
        query = self.scope.get("query_string") if self.scope else None
        if isinstance(query, bytes) and query:
            return f"{self.path}?{query.decode('latin-1')}"
        return self.path

    @property
    def close_normal(self) -> bool:
        """Whether ``close_code`` says the WebSocket ended normally (RFC 6455 §7.4.1:
        1000 normal closure, 1001 going away, 1005 no code given); False when it has
        no close code."""
        return self.close_code in (1000, 1001, 1005)

    @property
    def duration_ns(self) -> int | None:
        """Nanoseconds from the first to the last event, once the exchange ended."""
        return None if self.t_end is None else self.t_end - self.t_start

    def otel_span(self) -> OtelSpan | None:
        """The OpenTelemetry SERVER span this exchange was made of (``source``
        ``"otel"``), or None."""
        if self.source != "otel":
            return None
        return next(
            (e for e in self.events if type(e) is OtelSpan and e.span_kind == "server"), None
        )

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
        if frame.opcode == 8:  # the client's close: the app hears websocket.disconnect
            return next(
                (
                    e
                    for e in self.events
                    if isinstance(e, MessageReceived)
                    and isinstance(e.message, dict)
                    and e.message.get("type") == "websocket.disconnect"
                ),
                None,
            )
        if frame.opcode >= 8:  # ping, pong: the server's business, never a message
            return None
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
    closed_by: Party | Literal[""] = ""
    reason: str = ""
    exchanges: list[int] = field(default_factory=list)
    received: list[tuple[int, bytes]] = field(default_factory=list)
    sent: list[tuple[int, bytes]] = field(default_factory=list)
    dropped: int = 0
    """Exchanges of this connection the store dropped (see :class:`Store`)."""
    source: Source | Literal[""] = ""
    """Who recorded it when not our own server: ``"middleware"`` or ``"proxy"``
    (a :class:`~asgi_scope.trace.events.ConnectionOrigin`)."""
    pid: int = 0
    """The id of the process that recorded it (a worker's pid when attached), or 0."""
    raw: bool = True
    """Whether its raw socket bytes were recorded (False in middleware mode)."""

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


DEFAULT_KEEP = 10_000
"""Default cap on exchanges kept (``--keep``)."""

DEFAULT_KEEP_BYTES = 256 * 1024 * 1024
"""Default cap on bytes of bodies and raw bytes kept (``--keep-bytes``)."""

NOTES_KEPT = 1000
"""Server notes kept (the newest); older ones are counted in ``notes_dropped``."""

EVENTS_KEPT = 20_000
"""Events kept per exchange; its streamed events past this are counted, not kept."""

_STREAMED = frozenset(
    (
        BytesReceived,
        BytesSent,
        MessageReceived,
        MessageSent,
        WebSocketFrame,
        UpstreamBytes,
        LayerReceived,
        LayerSent,
        OtelSpan,
    )
)
"""The event classes an exchange has without bound (one per chunk, message or frame)."""


def _body_size(message: Any) -> int:
    if type(message) is not dict:
        return 0
    body = message.get("body")
    if body is None:
        body = message.get("bytes") or message.get("text")
    return len(body) if isinstance(body, (bytes, str)) else 0


class Store:
    """Every event so far, plus per-exchange and per-connection summaries.

    ``keep`` and ``keep_bytes`` cap what is kept (None: no cap, for a capture
    file read whole). Past a cap the oldest whole exchanges go first; ``dropped``
    counts them and ``dropped_bytes`` the bytes they held. Events that arrive
    later for an exchange dropped while still open are dropped too.

    Not thread-safe: one consumer thread calls :meth:`add` and reads the rest.

    :meth:`add` runs for every event, on the view's thread, beside a busy server
    (they share the GIL), so it is written for speed: it dispatches on the event's
    exact class through a dict (:attr:`_ON_EXCHANGE`, :attr:`_ON_OTHER`) rather
    than a chain of ``isinstance`` tests, does the bookkeeping every exchange
    event shares once, in its loop, and binds what it uses per event to locals.
    """

    def __init__(
        self, keep: int | None = None, keep_bytes: int | None = None, *, whole: bool = False
    ) -> None:
        self.keep = keep
        self.keep_bytes = keep_bytes
        self.whole = whole
        self.events_kept = None if whole else EVENTS_KEPT
        """Events kept per exchange: :data:`EVENTS_KEPT`, or every one when ``whole``
        (an export of a whole capture file)."""
        self.kept_bytes = 0
        """Bytes of bodies and raw bytes held now (compare ``keep_bytes``)."""
        self.dropped = 0
        """Exchanges dropped to stay within the caps, since the start or the last clear."""
        self.dropped_bytes = 0
        self.evicted: list[int] = []
        """Ids of exchanges dropped since a view last called :meth:`take_evicted`."""
        self._order: deque[int] = deque()  # exchange ids, oldest first
        self._gone: set[int] = set()  # dropped while still open
        self._live_events = 0  # events held by kept exchanges
        self._dead_bytes = 0  # bytes of dropped exchanges still in self.events
        self.events: list[Event] = []
        self.exchanges: dict[int, Exchange] = {}
        self.connections: dict[int, Connection] = {}
        self.notes: list[ServerNote] = []
        """The newest server notes, oldest first (at most twice :data:`NOTES_KEPT`)."""
        self.notes_dropped = 0
        self.marks: dict[float, ServerNote] = {}
        """Rows of a table that are not exchanges: each reload (a :class:`ServerNote` of
        level ``"reload"``), keyed by where it sits among the exchange ids, just below
        the first exchange of the new app process (``6.5`` before ``7``)."""
        self.bytes_in = 0
        self.bytes_out = 0
        self.errors = 0
        self.clients_gone = 0
        """Exchanges whose client left before the response was complete."""
        self.violations = 0
        """Spec violations (errors and warnings) found so far, in every exchange."""
        self._lane_pid = 0  # the pid of the last ConnectionOrigin for conn 0

    def clear(self) -> None:
        """Forget everything recorded so far (the UI's "clear"), as browser devtools
        do: exchanges still open are forgotten too, and their later events dropped;
        open connections stay, with no past bytes, for the exchanges to come."""
        gone = self._gone | {i for i, x in self.exchanges.items() if x.t_end is None}
        still_open = [c for c in self.connections.values() if c.t_close is None]
        self.__init__(self.keep, self.keep_bytes, whole=self.whole)
        self._gone = gone
        for conn in still_open:
            conn.exchanges.clear()
            conn.received.clear()
            conn.sent.clear()
            self.connections[conn.id] = conn

    def add(self, events: Iterable[Event]) -> set[int]:
        """Index ``events`` (in ``seq`` order); return the ids of exchanges they touched
        (and the keys of the :attr:`marks` they added).

        An event goes on :attr:`events`, then to its class's handler: an
        exchange event (its class in :attr:`_ON_EXCHANGE`, or a class this
        store does not know) with a non-zero ``exchange`` also goes on its
        :class:`Exchange`'s list, the exchange created by its first event. Past
        :attr:`events_kept` events on one exchange, its streamed events (bytes,
        messages, frames) update its summary and are counted in
        :attr:`Exchange.unkept`, not kept: a WebSocket session or an event
        stream that runs for hours stays bounded.
        """
        touched: set[int] = set()
        touch = touched.add
        gone = self._gone
        find = self.exchanges.get
        on_exchange, on_other = self._ON_EXCHANGE, self._ON_OTHER
        append = self.events.append
        cap = self.events_kept or float("inf")
        for event in events:
            kind = type(event)
            if kind is ServerNote:  # placed among exchanges (its ``exchange``), not of one
                append(event)
                touched_id = self._on_note(event)
                if touched_id:
                    touch(touched_id)
                append = self.events.append  # a server note may have rebuilt the list
                continue
            exchange_id = getattr(event, "exchange", 0)
            if gone and exchange_id in gone:
                self._late(event, exchange_id)
                continue
            exchange = None
            if exchange_id:
                touch(exchange_id)
                exchange = find(exchange_id) or self._exchange(event, exchange_id)
                if len(exchange.events) >= cap and kind in _STREAMED:
                    exchange.unkept += 1
                    if kind is BytesReceived:
                        self._on_bytes_received(event, exchange_id)
                    else:
                        on_exchange[kind](self, exchange, event)
                    continue
            append(event)
            other = on_other.get(kind)
            if other is not None:
                other(self, event, exchange_id)
            elif exchange is not None:
                exchange.events.append(event)
                self._live_events += 1
                on_exchange.get(kind, Store._on_other_exchange_event)(self, exchange, event)
        if (self.keep is not None and len(self.exchanges) > self.keep) or (
            self.keep_bytes is not None and self.kept_bytes > self.keep_bytes
        ):
            self._evict()
        return touched

    def take_evicted(self) -> list[int]:
        """The ids of exchanges dropped since the last call (for a view to remove)."""
        evicted, self.evicted = self.evicted, []
        return evicted

    def _late(self, event: Event, exchange_id: int) -> None:
        """An event of an exchange dropped while open: counted in totals, not kept."""
        if isinstance(event, BytesReceived):
            self.bytes_in += event.size
        elif isinstance(event, BytesSent):
            self.bytes_out += event.size
        elif isinstance(event, (ExchangeEnded, ProtocolError)):
            self._gone.discard(exchange_id)

    def _evict(self) -> None:
        """Drop the oldest exchanges until both caps hold."""
        keep = self.keep if self.keep is not None else float("inf")
        budget = self.keep_bytes if self.keep_bytes is not None else float("inf")
        exchanges, order = self.exchanges, self._order
        pop, oldest, drop = exchanges.pop, order.popleft, self._drop
        while order and (len(exchanges) > keep or self.kept_bytes > budget):
            exchange = pop(oldest(), None)
            if exchange is not None:
                drop(exchange)
        # The flat event list still holds the dropped exchanges' events: rebuild
        # it once they outnumber the kept ones (amortized O(1) per event).
        if len(self.events) > 2 * self._live_events + 4096 or self._dead_bytes > budget // 4:
            self._prune()
            self._dead_bytes = 0

    def _prune(self) -> None:
        """Rebuild :attr:`events` with only the events :meth:`_kept` keeps.

        Inlines :meth:`_kept`'s common case, an event of an exchange, as it scans
        every event: ``x in exchanges`` is the whole test when ``x`` is an
        exchange id, and False when it is 0 (no exchange has id 0), so only
        events of no exchange (and notes placed by theirs) pay for the call to
        :meth:`_kept`.
        """
        exchanges, kept = self.exchanges, self._kept
        self.events = [
            e
            for e in self.events
            if (x := getattr(e, "exchange", 0)) in exchanges
            or ((not x or type(e) is ServerNote) and kept(e))
        ]

    def _kept(self, event: Event) -> bool:
        """Whether ``event`` stays on :attr:`events` when it is rebuilt: it belongs to
        a kept exchange or connection, or is one of the kept server notes."""
        if type(event) is ServerNote:
            return bool(self.notes) and event.t_ns >= self.notes[0].t_ns
        exchange_id = getattr(event, "exchange", 0)
        if exchange_id:
            return exchange_id in self.exchanges
        return not event.conn or event.conn in self.connections

    def _drop(self, exchange: Exchange) -> None:
        kept, exchange_id = exchange.kept, exchange.id
        self.kept_bytes -= kept
        self.dropped += 1
        self.dropped_bytes += kept
        self._dead_bytes += kept
        self._live_events -= len(exchange.events)
        self.evicted.append(exchange_id)
        if exchange.t_end is None:
            self._gone.add(exchange_id)
        conn = self.connections.get(exchange.conn)
        if conn is None:
            return
        conn.dropped += 1
        ids = conn.exchanges
        if ids and ids[0] == exchange_id:
            del ids[0]
        elif exchange_id in ids:
            ids.remove(exchange_id)
        if not ids and conn.t_close is not None:
            del self.connections[conn.id]
            return
        # Raw bytes up to the end of the dropped exchange are nobody's now.
        for wire, chunks in ((exchange.wire_in, conn.received), (exchange.wire_out, conn.sent)):
            if wire is None:
                continue
            end = wire[1]
            n = 0
            for offset, data in chunks:
                if offset + len(data) > end:
                    break
                n += 1
            if n:
                del chunks[:n]

    def _exchange(self, event: Event, exchange_id: int) -> Exchange:
        exchange = self.exchanges.get(exchange_id)
        if exchange is None:
            exchange = self.exchanges[exchange_id] = Exchange(exchange_id, event.conn, event.t_ns)
            self._order.append(exchange_id)
            conn = self.connections.get(event.conn)
            if conn is not None:
                if conn.exchanges:
                    exchange.previous = conn.exchanges[-1]
                conn.exchanges.append(exchange_id)
                exchange.pid, exchange.raw, exchange.source = conn.pid, conn.raw, conn.source
            elif not event.conn:  # the server lane: the process named just before
                exchange.pid = self._lane_pid
        return exchange

    # Events of no exchange, or not kept on one (raw bytes received): handlers
    # take (event, exchange_id).

    def _on_connection_opened(self, event: ConnectionOpened, exchange_id: int) -> None:
        self.connections[event.conn] = Connection(
            event.conn, event.t_ns, event.client, event.server
        )

    def _on_connection_closed(self, event: ConnectionClosed, exchange_id: int) -> None:
        conn = self.connections.get(event.conn)
        if conn is not None:
            conn.t_close, conn.closed_by, conn.reason = event.t_ns, event.by, event.reason
            if not conn.exchanges:  # none left (dropped), or none ever: a probe
                del self.connections[conn.id]

    def _on_note(self, event: ServerNote) -> float:
        """Keep a note; an output line of a kept exchange goes on its list too (its
        Messages list shows it), a reload becomes a mark. The exchange id or mark
        key it touched (0: none)."""
        notes = self.notes
        notes.append(event)
        if len(notes) > 2 * NOTES_KEPT:  # an app printing per request, 503s...
            del notes[:NOTES_KEPT]
            self.notes_dropped += NOTES_KEPT
            self._prune()
        if event.level == "reload":
            first = event.exchange or max(self.exchanges, default=0) + 1
            key = first - 0.5
            while key in self.marks:  # reloads with no exchange between: in order
                key = (key + first) / 2
            self.marks[key] = event
            return key
        exchange = self.exchanges.get(event.exchange) if event.exchange else None
        if (
            exchange is None
            or event.level != "output"
            or len(exchange.events) >= (self.events_kept or float("inf"))
        ):
            return 0
        exchange.events.append(event)
        self._live_events += 1
        return exchange.id

    def _on_origin(self, event: ConnectionOrigin, exchange_id: int) -> None:
        if not event.conn:  # names the process of the next server-lane exchange
            self._lane_pid = event.pid
        conn = self.connections.get(event.conn)
        if conn is not None:
            conn.source, conn.pid, conn.raw = event.source, event.pid, event.raw

    def _on_bytes_received(self, event: BytesReceived, exchange_id: int) -> None:
        data = event.data
        self.bytes_in += event.size
        if data:
            conn = self.connections.get(event.conn)
            if conn is not None:
                conn.received.append((event.offset, data))
        if exchange_id:
            exchange = self.exchanges.get(exchange_id)
            if exchange is None:
                exchange = self._exchange(event, exchange_id)
            exchange.kept += len(data)
            self.kept_bytes += len(data)
            seen = exchange.received
            exchange.received = (seen[0] if seen else event.t_ns, event.t_ns)

    # Exchange events, already on their exchange's list: handlers take
    # (exchange, event).

    def _on_bytes_sent(self, exchange: Exchange, event: BytesSent) -> None:
        size, data, offset = event.size, event.data, event.offset
        self.bytes_out += size
        exchange.bytes_out += size
        exchange.kept += len(data)
        self.kept_bytes += len(data)
        exchange.wire_out = _union(exchange.wire_out, offset, offset + size)
        if data:
            conn = self.connections.get(event.conn)
            if conn is not None:
                conn.sent.append((offset, data))

    def _on_scope_created(self, exchange: Exchange, event: ScopeCreated) -> None:
        scope = event.scope
        exchange.scope = scope
        exchange.kind = scope.get("type", "?")
        exchange.method = scope.get("method", "")
        exchange.path = scope.get("path", "")
        if event.wire:
            exchange.wire_in = _union(exchange.wire_in, *event.wire)

    def _on_message_received(self, exchange: Exchange, event: MessageReceived) -> None:
        if event.wire:
            exchange.wire_in = _union(exchange.wire_in, *event.wire)
        message = event.message
        size = _body_size(message)
        exchange.kept += size
        self.kept_bytes += size
        if (
            exchange.close_code is None
            and isinstance(message, dict)
            and message.get("type") == "websocket.disconnect"
        ):
            code = message.get("code")
            exchange.close_code = code if isinstance(code, int) else 1005

    def _on_message_sent(self, exchange: Exchange, event: MessageSent) -> None:
        message = event.message
        size = _body_size(message)
        exchange.kept += size
        self.kept_bytes += size
        self._on_sent(exchange, message)

    def _on_exchange_ended(self, exchange: Exchange, event: ExchangeEnded) -> None:
        exchange.scope_after = event.scope
        exchange.t_end = event.t_ns
        exchange.status = event.status or exchange.status
        if exchange.state == "error":
            return
        if event.outcome == "disconnect":
            exchange.state = "client gone"
            self.clients_gone += 1
            return
        ok = event.outcome in ("complete", "unsupported")  # unsupported: a lifespan
        exchange.state = "done" if ok else "error"
        if not ok and not exchange.error:
            exchange.error = event.outcome

    def _on_lifespan_state(self, exchange: Exchange, event: LifespanState) -> None:
        exchange.lifespan_state = event.state

    def _on_websocket_frame(self, exchange: Exchange, event: WebSocketFrame) -> None:
        exchange.kept += len(event.payload)
        self.kept_bytes += len(event.payload)
        if event.direction == "in":
            exchange.wire_in = _union(exchange.wire_in, *event.wire)
        if event.opcode == 8 and event.complete and exchange.close_code is None:
            code = int.from_bytes(event.payload[:2], "big")
            exchange.close_code = code if len(event.payload) >= 2 else 1005

    def _on_spec_violation(self, exchange: Exchange, event: SpecViolation) -> None:
        if severity_of(event.rule) in COUNTED:  # info and perf are shown, not counted
            exchange.violations += 1
            self.violations += 1

    def _on_upstream_bytes(self, exchange: Exchange, event: UpstreamBytes) -> None:
        # asgi-scope proxy's upstream side
        exchange.kept += len(event.data)
        self.kept_bytes += len(event.data)

    def _on_proxy_timings(self, exchange: Exchange, event: ProxyTimings) -> None:
        if event.error:
            exchange.error = f"upstream: {event.error}"
            exchange.state = "error"
            self.errors += 1

    def _on_app_raised(self, exchange: Exchange, event: AppRaised) -> None:
        exchange.error = f"{event.exc_type}: {event.message}"
        exchange.state = "error"
        self.errors += 1

    def _on_protocol_error(self, exchange: Exchange, event: ProtocolError) -> None:
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

    def _on_otel_span(self, exchange: Exchange, event: OtelSpan) -> None:
        """A SERVER span is the exchange's request line and status (its path with
        ``?query``, as the table shows it); its error is the span's status."""
        if event.span_kind != "server" or exchange.method:
            return
        scheme = event.attributes.get("url.scheme") or event.attributes.get("http.scheme")
        exchange.kind = "websocket" if scheme in ("ws", "wss") else "http"
        exchange.method = event.method or "?"
        exchange.path = event.path + (f"?{event.query}" if event.query else "")
        exchange.status = event.http_status or exchange.status
        if event.status == "error":
            exchange.error = event.status_message or "the span's status is ERROR"

    def _on_other_exchange_event(self, exchange: Exchange, event: Event) -> None:
        """An event of an exchange that changes nothing in its summary."""

    @staticmethod
    def _on_sent(exchange: Exchange, message: Any) -> None:
        if not isinstance(message, dict):
            return
        kind = message.get("type")
        if kind == "websocket.accept":
            exchange.status = 101
        elif kind == "http.response.start":
            status = message.get("status")
            if type(status) is int and 100 <= status <= 999:  # else the spec checker says why
                exchange.status = status
            exchange.state = "streaming" if exchange.state == "open" else exchange.state
        elif (
            kind == "http.response.body"
            and not message.get("more_body", False)
            and exchange.state == "streaming"
        ):
            exchange.state = "done"

    # The dispatch tables, by exact class (event classes have no subclasses).

    _ON_OTHER: dict[type, Callable[..., None]] = {
        ConnectionOpened: _on_connection_opened,
        ConnectionClosed: _on_connection_closed,
        ConnectionOrigin: _on_origin,
        BytesReceived: _on_bytes_received,
    }
    """Handlers of events that are not on an exchange's list, taking (event, exchange_id)."""

    _ON_EXCHANGE: dict[type, Callable[..., None]] = {
        BytesSent: _on_bytes_sent,
        ScopeCreated: _on_scope_created,
        MessageReceived: _on_message_received,
        LifespanState: _on_lifespan_state,
        WebSocketFrame: _on_websocket_frame,
        MessageSent: _on_message_sent,
        SpecViolation: _on_spec_violation,
        UpstreamBytes: _on_upstream_bytes,
        ProxyTimings: _on_proxy_timings,
        AppRaised: _on_app_raised,
        ProtocolError: _on_protocol_error,
        ExchangeEnded: _on_exchange_ended,
        LayerReceived: _on_other_exchange_event,
        LayerSent: _on_other_exchange_event,
        OtelSpan: _on_otel_span,
    }
    """Handlers of exchange events, taking (exchange, event): see :meth:`add`."""
