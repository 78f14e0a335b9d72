"""The event model: small immutable records of everything that happened.

Immutable by contract, not by ``frozen=True``: nothing assigns to an event once
the recorder has built it (views, the store and the capture writer only read).
A frozen dataclass's ``__init__`` sets each field through
``object.__setattr__``, about 4x the cost of a plain slotted one, and events
are built on the server's hot path, eight or so per request.

Every event carries ``seq`` (global order, from 1), ``t_ns`` (monotonic
nanoseconds since the session started) and ``conn`` (connection id, from 1;
``0`` is the server itself, which runs the lifespan exchange). Events that
belong to one request/response (or lifespan) exchange also carry ``exchange``
(a session-wide id, from 1; ``0`` for bytes that belong to no exchange yet).

Byte ranges (``wire``) are ``(start, end)`` offsets, in bytes, into one
direction's stream of a connection: received bytes for messages given to the
app, sent bytes for what the app's messages became. Offsets count every byte
of that direction since the connection opened, so a view can rebuild the
stream from :class:`BytesReceived` / :class:`BytesSent` and highlight a range.

Messages and scopes are snapshots taken when they crossed the shim (see
:mod:`asgi_scope.trace.snapshot`): plain dicts, lists and tuples that nobody
mutates afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Wire = tuple[int, int]
"""A ``(start, end)`` byte range, ``end`` exclusive, in one direction's stream."""

# The fixed vocabularies of event fields. Plain strings on the wire and in
# capture files (the codec writes and reads them unchanged); typed here so a
# checker catches a misspelt value.

Party = Literal["client", "server", "app"]
"""Who did it: the peer on the socket, our server, or the application."""

Direction = Literal["in", "out"]
"""A direction on a wire: ``"in"`` is read by us (client → server, or the
upstream → the proxy), ``"out"`` written by us."""

Outcome = Literal["complete", "error", "incomplete", "disconnect", "aborted", "unsupported"]
"""How the app's call for an exchange ended (see :class:`ExchangeEnded`)."""

Level = Literal["info", "warning", "error", "debug", "output", "reload"]
"""A :class:`ServerNote`'s severity or kind: ``"debug"`` is detail shown only on
demand (such as the traceback of an app without lifespan support), ``"output"`` a
line the app wrote to stdout or stderr, ``"reload"`` a restart of the app process
(``--reload``)."""

UserAct = Literal["", "edited", "dropped", "composed"]
"""What the user did to a message in the inspector (:class:`MessageReceived`,
:class:`MessageSent`): ``""`` nothing (it crossed as it came); ``"edited"``
held in step mode and edited, the edit handed over instead (``original`` keeps
what came); ``"dropped"`` held and dropped, never handed over; ``"composed"``
written in asgi-scope's WebSocket composer, not sent by the client."""

Source = Literal["middleware", "proxy", "otel"]
"""Who recorded a connection when not our own server (:class:`ConnectionOrigin`)."""


@dataclass(slots=True)
class Event:
    """Fields common to every event: global order, time and connection."""

    seq: int
    t_ns: int
    conn: int


@dataclass(slots=True)
class ConnectionOpened(Event):
    """A client connected. ``client`` and ``server`` are ``(host, port)`` or None."""

    client: tuple[str, int] | None
    server: tuple[str, int] | None


@dataclass(slots=True)
class ConnectionClosed(Event):
    """The connection ended. ``by`` is ``"client"`` or ``"server"`` (``"app"``: a
    middleware's ASGI call returned); ``reason`` is prose
    such as ``"keep-alive timeout"``, ``"Connection: close"`` or ``"reset by peer"``."""

    by: Party
    reason: str


@dataclass(slots=True)
class ConnectionOrigin(Event):
    """Who recorded connection ``conn``, when it was not this process's own server.

    Follows the connection's :class:`ConnectionOpened`. ``source`` is
    ``"middleware"`` (a :class:`~asgi_scope.remote.middleware.TraceMiddleware` inside the
    app's process: it sees each ASGI call, not the socket, so one call is one
    connection), ``"proxy"`` (``asgi-scope proxy``) or ``"otel"`` (an
    OpenTelemetry-instrumented app's SERVER span, received by ``attach
    --otlp-listen``: one span is one connection, with no bytes and no scope).
    ``pid`` is the id of the process that recorded it (a uvicorn or hypercorn worker), 0 if unknown.
    ``raw`` says whether the raw bytes of the socket were recorded (False in
    middleware mode: another server owns the socket). With ``conn`` 0 (a
    process's own lane, where lifespan runs) it comes just before that lane's
    exchange's :class:`ScopeCreated` and names the process that ran it.
    """

    source: Source
    pid: int
    raw: bool


@dataclass(slots=True)
class BytesReceived(Event):
    """Bytes read from the socket, starting at ``offset`` of the received stream.

    ``data`` may be cut short when the exchange's byte budget is spent; ``size`` is
    always the true number of bytes read. ``exchange`` is the exchange being parsed
    when they arrived: bytes that arrive between requests open the next one's id,
    and pipelined requests read at once are all tagged with the first (their own
    ranges are in their messages' ``wire``).
    """

    exchange: int
    offset: int
    data: bytes
    size: int


@dataclass(slots=True)
class BytesSent(Event):
    """Bytes written to the socket, starting at ``offset`` of the sent stream.

    ``cause`` is the ``seq`` of the :class:`MessageSent` they were produced for, or 0
    when the server wrote them on its own (``100 Continue``, a 400 or 500 answer).
    ``data`` may be cut short; ``size`` is the true length.
    """

    exchange: int
    offset: int
    data: bytes
    size: int
    cause: int


@dataclass(slots=True)
class ScopeCreated(Event):
    """The server built a scope and called the app with it.

    ``wire`` is the byte range of the request head it was parsed from (None for
    lifespan). ``scope`` is a snapshot; ``scope["type"]`` is ``"http"``,
    ``"websocket"`` or ``"lifespan"``.
    """

    exchange: int
    scope: dict[str, Any]
    wire: Wire | None


@dataclass(slots=True)
class MessageReceived(Event):
    """The app's ``await receive()`` returned ``message`` (server → app).

    ``wire`` is the received byte range the message came from, if any (an
    ``http.request`` body chunk, chunk framing included). ``dropped`` is the number
    of body bytes cut from the snapshot by the exchange's body cap. ``user`` is
    what the user did to it (:data:`UserAct`); for ``"edited"``, ``message`` is
    the edit the app got and ``original`` a snapshot of what the server gave
    (else None); a ``"dropped"`` one never reached the app.
    """

    exchange: int
    message: dict[str, Any]
    wire: Wire | None
    dropped: int
    user: UserAct = ""
    original: dict[str, Any] | None = None


@dataclass(slots=True)
class MessageSent(Event):
    """The app called ``await send(message)`` (app → server).

    The bytes it became are the :class:`BytesSent` events whose ``cause`` is this
    event's ``seq``. ``dropped``, ``user`` and ``original`` are as for
    :class:`MessageReceived`: an ``"edited"`` one's ``message`` is what the
    server took instead of ``original`` (what the app sent); a ``"dropped"``
    one never reached the server.
    """

    exchange: int
    message: dict[str, Any]
    dropped: int
    user: UserAct = ""
    original: dict[str, Any] | None = None


@dataclass(slots=True)
class AppRaised(Event):
    """The application raised ``exc_type: message``; ``traceback`` is the formatted
    traceback (formatted off the hot path: an exception is already the slow path)."""

    exchange: int
    exc_type: str
    message: str
    traceback: str


@dataclass(slots=True)
class ProtocolError(Event):
    """The client sent bytes that are not valid HTTP (RFC 9112), or the app broke the
    protocol in a way the server had to stop (``by`` is ``"client"`` or ``"app"``).

    ``status`` is the status the server answered with (400, 403, 408, 414, 426,
    431, 500...) or 0 when it
    could only close the connection. ``detail`` is h11's error text. ``wire`` is the
    received range the server could not parse (client errors), else None.
    """

    exchange: int
    by: Literal["client", "app"]
    status: int
    detail: str
    wire: Wire | None


@dataclass(slots=True)
class ExchangeEnded(Event):
    """The app's call for this exchange returned (or raised).

    ``scope`` is a snapshot of the scope as the app left it, to compare with the one
    in :class:`ScopeCreated` (frameworks add ``route``, ``endpoint``,
    ``path_params``...). ``outcome`` is ``"complete"``, ``"error"`` (the app raised),
    ``"incomplete"`` (it returned before finishing its response), ``"disconnect"``
    (the client went away first), ``"aborted"`` (the app process died first) or
    ``"unsupported"`` (a lifespan the app does not support: it raised before startup,
    and ``--lifespan auto`` carried on).
    ``status`` is the status the client was sent, by the app or by the server on
    its behalf (500), or 0 if none was.
    """

    exchange: int
    scope: dict[str, Any]
    outcome: Outcome
    status: int


@dataclass(slots=True)
class LifespanState(Event):
    """The lifespan ``state`` as the app left it when its startup completed (ASGI
    Lifespan spec 2.0, "Lifespan State"): the dict every later request's scope
    gets a shallow copy of. ``state`` is a snapshot; ``exchange`` is the lifespan's."""

    exchange: int
    state: dict[str, Any]


@dataclass(slots=True)
class WebSocketFrame(Event):
    """One WebSocket frame (RFC 6455 §5.2) on the wire of a ``websocket`` exchange.

    ``direction`` is ``"in"`` (client → server) or ``"out"``. ``opcode`` is the
    frame's opcode (0 continuation, 1 text, 2 binary, 8 close, 9 ping, 10 pong;
    -1 if the connection ended inside the header). ``fin`` is the FIN bit.
    ``length`` is the payload length in bytes the header declared; ``payload``
    is its first bytes, unmasked (at most 1 KiB). ``wire`` is the frame's range
    in ``direction``'s stream, header included. ``complete`` is False for a frame
    the connection ended in the middle of (``wire`` then ends where the bytes
    did). ``cause`` is the ``seq`` of the :class:`MessageSent` an outgoing frame
    was built for, 0 for frames the server sent on its own (pong, close reply)
    and for incoming frames.
    """

    exchange: int
    direction: Direction
    opcode: int
    fin: bool
    length: int
    payload: bytes
    wire: Wire
    complete: bool
    cause: int


@dataclass(slots=True)
class SpecViolation(Event):
    """The app used ``receive`` or ``send`` against the ASGI spec (see
    :mod:`asgi_scope.trace.spec`, which knows every rule).

    ``rule`` is the rule's id (``"http.body-bytes"``), ``section`` the spec section it
    comes from (``"ASGI HTTP 2.5, Response Body - send event"``), ``detail`` what this
    message did (prose, may quote the app's values). ``cause`` is the ``seq`` of the
    :class:`MessageSent` or :class:`MessageReceived` that broke it, or 0 when the
    finding is about the whole exchange (the app returned without finishing its
    response).
    """

    exchange: int
    rule: str
    section: str
    detail: str
    cause: int


@dataclass(slots=True)
class UpstreamBytes(Event):
    """Bytes ``asgi-scope proxy`` exchanged with the upstream server for ``exchange``.

    ``direction`` is ``"out"`` (written to the upstream: the forwarded request)
    or ``"in"`` (read from it: its response). ``offset`` is the first byte's
    offset in that direction's stream of the exchange's own upstream connection
    (one per exchange, so both streams start at 0). ``data`` may be cut short by
    the body cap; ``size`` is the true length.
    """

    exchange: int
    direction: Direction
    offset: int
    data: bytes
    size: int


@dataclass(slots=True)
class ProxyTimings(Event):
    """How ``asgi-scope proxy`` spent an exchange's time, recorded when it ends.

    ``upstream`` is the upstream's origin (``http://127.0.0.1:9000``); ``status``
    its response status (0 if none came). Nanoseconds: ``connect_ns`` to open the
    upstream connection; ``upstream_ns`` from the first byte written upstream to
    the last byte read from it (the upstream's work and the transfer);
    ``client_ns`` spent waiting on the client (for request body to arrive, for
    response bytes to be taken); ``total_ns`` the proxy app's whole call, so the
    proxy's own time is ``total_ns - connect_ns - upstream_ns - client_ns`` (the
    parts overlap when bodies stream, and the rest is then clamped at 0).
    ``error`` says why the upstream failed (``"connection refused"``), else ``""``;
    the client got a 502 Bad Gateway then (RFC 9110 §15.6.3) if nothing was sent.
    """

    exchange: int
    upstream: str
    status: int
    connect_ns: int
    upstream_ns: int
    client_ns: int
    total_ns: int
    error: str


@dataclass(slots=True)
class ServerNote(Event):
    """Something the server did or saw that is not a message: listening, lifespan
    unsupported, shutting down, a line of the app's output, a reload. ``level`` is
    one of :data:`Level`.

    ``exchange`` places the note among exchanges without being one of their
    events: for an ``"output"`` line, the exchange whose app was running in the
    app process when the line was written, if it was the only one (0: none, or
    several); for a ``"reload"``, the first exchange id the new app process hands
    out (ids continue across reloads); otherwise 0.
    """

    level: Level
    text: str
    exchange: int = 0


@dataclass(slots=True)
class LayerEntered(Event):
    """A middleware layer of the app was called: the scope as it entered ``layer``.

    Layers are the app's chain of ASGI callables, each holding the next
    (:mod:`asgi_scope.trace.layers`). ``depth`` counts from 0, the outermost
    layer, which the server called: its scope is :class:`ScopeCreated`'s and
    ``scope`` is then None. ``layer`` is the class name (``GZipMiddleware``; an
    endpoint's function name), ``module`` the module it comes from;
    ``endpoint`` is True for a layer that holds no next layer (an endpoint,
    the end of the chain). A layer entered twice in one exchange (a retry) has
    two of these, the later one starting its second visit.
    """

    exchange: int
    depth: int
    layer: str
    module: str
    endpoint: bool
    scope: dict[str, Any] | None


@dataclass(slots=True)
class LayerReceived(Event):
    """``layer``'s ``await receive()`` returned ``message``, handed down by the
    layer above it (``depth`` - 1). At ``depth`` 0 the server's
    :class:`MessageReceived` says it instead. ``dropped`` is as there."""

    exchange: int
    depth: int
    layer: str
    message: dict[str, Any]
    dropped: int


@dataclass(slots=True)
class LayerSent(Event):
    """``layer`` called ``await send(message)``, towards the layer above it (at
    ``depth`` 0 the server's :class:`MessageSent` says it instead)."""

    exchange: int
    depth: int
    layer: str
    message: dict[str, Any]
    dropped: int


@dataclass(slots=True)
class LayerReturned(Event):
    """``layer``'s call returned (``outcome`` ``"complete"``) or raised
    (``"error"``, ``exc_type`` the exception's class name, else ``""``)."""

    exchange: int
    depth: int
    layer: str
    outcome: Outcome
    exc_type: str


@dataclass(slots=True)
class OtelSpan(Event):
    """A span, or a log record, an OpenTelemetry-instrumented app sent over OTLP to
    ``attach --otlp-listen`` (:mod:`asgi_scope.remote.otlp_in`), on ``exchange``.

    A SERVER span (``span_kind`` ``"server"``) is the exchange itself: ``method``,
    ``path``, ``query`` and ``http_status`` are read from its HTTP
    semantic-convention attributes (0 and ``""`` when absent). Its descendants
    (``"internal"``, ``"client"``, ...: ``opentelemetry-instrumentation-asgi``
    makes one ``http receive`` or ``http send`` span per ASGI message) and its log
    records (``span_kind`` ``"log"``, ``name`` the record's body) are the exchange's
    messages; ``message_type`` is their ``asgi.event.type`` (``""`` if none).

    ``t_ns`` is the span's start and ``end_ns`` its end (a log record's time for
    both), on the session's clock. Ids are lowercase hex (``trace_id`` 32 digits,
    ``span_id`` and ``parent_id`` 16, ``""`` when absent); ``status`` is
    ``"unset"``, ``"ok"`` or ``"error"``, ``status_message`` its description.
    ``attributes`` holds at most :data:`~asgi_scope.remote.otlp_in.MAX_ATTRIBUTES`
    of the span's attributes, each value a bounded str, int, float or bool: all
    untrusted, shown escaped.
    """

    exchange: int
    span_kind: str
    name: str
    trace_id: str
    span_id: str
    parent_id: str
    end_ns: int
    status: str
    status_message: str
    method: str
    path: str
    query: str
    http_status: int
    message_type: str
    attributes: dict[str, Any]


EXCHANGE_EVENTS = (
    BytesReceived,
    BytesSent,
    ScopeCreated,
    MessageReceived,
    MessageSent,
    AppRaised,
    ProtocolError,
    ExchangeEnded,
    WebSocketFrame,
    LifespanState,
    SpecViolation,
    UpstreamBytes,
    ProxyTimings,
    LayerEntered,
    LayerReceived,
    LayerSent,
    LayerReturned,
    OtelSpan,
)
"""The event classes that carry an ``exchange`` field."""
