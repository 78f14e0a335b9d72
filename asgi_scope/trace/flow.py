"""The flow model: one HTTP (or WebSocket) exchange as a request, a response and
their times, read from the store's :class:`~asgi_scope.trace.store.Exchange`.

Every view and every export (HAR, curl, the pytest test, re-send, replay, the
UI's share menu) reads a :class:`Flow`, so they agree with each other and with
the inspector: the request is what the app was given (the scope and its
``http.request`` messages, ASGI spec 2.3), the response is what the client got
(the status line and headers as written on the wire, RFC 9112 §4, with the
app's ``http.response.body`` bodies). A flow is built from its exchange's own
events and the facts the store kept while indexing them (first and last
request byte, the exchange before it on its connection): no walk over the
whole trace.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from asgi_scope.trace.events import (
    BytesSent,
    MessageReceived,
    MessageSent,
    ScopeCreated,
)
from asgi_scope.trace.store import Exchange, Store

PATH_SAFE = "/:@!$&'()*+,;=-._~%"
"""Characters left as they are when a path is percent-encoded (RFC 3986 §3.3 pchar)."""

Headers = list[tuple[bytes, bytes]]
"""Header ``(name, value)`` pairs as on the wire (names lowercased by the server)."""


@dataclass(slots=True)
class Request:
    """An HTTP request as the app received it.

    ``target`` is the request target (``/items/1?q=x``, percent-encoded);
    ``body`` the kept body and ``body_size`` its true length in bytes (larger when
    a body cap cut it: then ``truncated``). ``head_size`` is the bytes of the
    request line and headers on the wire, or -1 when unknown.
    """

    method: str
    scheme: str
    host: str
    target: str
    http_version: str
    headers: Headers
    body: bytes = b""
    body_size: int = 0
    head_size: int = -1
    server: tuple[str, int] | None = None
    """The address the server listened on for this connection (the scope's
    ``server``), if known: unlike ``host`` the client cannot choose it."""

    @property
    def truncated(self) -> bool:
        return self.body_size > len(self.body)

    @property
    def url(self) -> str:
        """The absolute URL: ``scheme://host`` (the Host header, else the server's
        address) and the target."""
        return f"{self.scheme}://{self.host}{self.target}"

    def header(self, name: bytes) -> bytes | None:
        """The first value of header ``name`` (case-insensitive), or None."""
        return first(self.headers, name)


@dataclass(slots=True)
class Response:
    """The response the client got: ``status``, ``reason`` (the status line's
    phrase), headers as written on the wire (the server's own, such as
    ``content-length`` or ``transfer-encoding``, included), the decoded body
    (chunk framing removed) and its true size, and the head's size in bytes."""

    status: int
    reason: str
    http_version: str
    headers: Headers
    body: bytes = b""
    body_size: int = 0
    head_size: int = -1

    @property
    def truncated(self) -> bool:
        return self.body_size > len(self.body)

    def header(self, name: bytes) -> bytes | None:
        return first(self.headers, name)


@dataclass(slots=True)
class WebSocketMessage:
    """One WebSocket message: ``direction`` ``"send"`` (client → app) or
    ``"receive"`` (app → client), as Chrome's HAR names them; ``t_ns`` since the
    session started; ``data`` text (opcode 1) or bytes (opcode 2)."""

    direction: str
    t_ns: int
    data: str | bytes

    @property
    def opcode(self) -> int:
        return 1 if isinstance(self.data, str) else 2


@dataclass(slots=True)
class Times:
    """Instants of one exchange, in ``t_ns`` (nanoseconds since the session began):
    first and last request byte received, scope created (the app called), the
    first and last response byte sent, the app's call ended. Any may be None."""

    first_in: int | None = None
    last_in: int | None = None
    scope: int | None = None
    request_read: int | None = None
    first_out: int | None = None
    last_out: int | None = None
    end: int | None = None
    queued_behind: int | None = None
    """When the previous exchange on the connection ended, if after ``first_in``
    (a pipelined request waits for it)."""


@dataclass(slots=True)
class Flow:
    """One exchange for export: its ids, ``kind`` (``"http"`` or ``"websocket"``),
    the request, the response (None if none was sent), times, WebSocket messages,
    the server address and the scope the app was called with."""

    exchange: int
    conn: int
    kind: str
    request: Request
    response: Response | None
    times: Times
    server: tuple[str, int] | None = None
    scope: dict[str, Any] = field(default_factory=dict)
    messages: list[WebSocketMessage] = field(default_factory=list)


def first(headers: Headers, name: bytes) -> bytes | None:
    """The first value of header ``name`` in ``headers`` (case-insensitive)."""
    name = name.lower()
    return next((v for n, v in headers if n.lower() == name), None)


def _bytes(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("latin-1", "replace")
    return str(value).encode("latin-1", "replace")


def _headers(value: Any) -> Headers:
    out = []
    for pair in value if isinstance(value, (list, tuple)) else ():
        if isinstance(pair, (list, tuple)) and len(pair) == 2:
            out.append((_bytes(pair[0]), _bytes(pair[1])))
    return out


def flows(store: Store, ids: list[int] | None = None) -> list[Flow]:
    """The HTTP and WebSocket exchanges of ``store`` (or those of ``ids``) as
    flows, in exchange order. Lifespan and unparseable requests are left out."""
    chosen = sorted(store.exchanges) if ids is None else ids
    out = []
    for exchange_id in chosen:
        exchange = store.exchanges.get(exchange_id)
        if exchange is not None:
            flow = flow_of(store, exchange)
            if flow is not None:
                out.append(flow)
    return out


def flow_of(store: Store, exchange: Exchange) -> Flow | None:
    """``exchange`` (of ``store``) as a :class:`Flow`, or None if it is not HTTP or
    WebSocket. One walk over the exchange's own events."""
    scope = exchange.scope
    if scope is None or scope.get("type") not in ("http", "websocket"):
        return None
    times = Times()
    body, dropped_in = [], 0
    app_body, dropped_out = [], 0
    start: dict[str, Any] | None = None
    ws: list[WebSocketMessage] = []
    head_size = -1
    from_wire = False
    for event in exchange.events:
        if isinstance(event, ScopeCreated):
            times.scope = event.t_ns
            if event.wire:
                head_size = event.wire[1] - event.wire[0]
        elif isinstance(event, MessageReceived) and isinstance(event.message, dict):
            kind = event.message.get("type")
            if kind == "http.request":  # what the client sent: before the user's edit
                sent = event.original if event.original is not None else event.message
                body.append(_bytes(sent.get("body", b"")))
                dropped_in += event.dropped
                if not event.message.get("more_body", False):
                    times.request_read = event.t_ns
            elif kind == "websocket.receive" and event.user != "composed":
                # What the client sent: before the user's edit; a composed one it never did.
                sent = event.original if event.original is not None else event.message
                ws.append(WebSocketMessage("send", event.t_ns, _ws_data(sent)))
        elif isinstance(event, MessageSent) and isinstance(event.message, dict):
            kind = event.message.get("type")
            if kind == "http.response.start":
                start = event.message
            elif kind == "http.response.body":
                app_body.append(_bytes(event.message.get("body", b"")))
                dropped_out += event.dropped
            elif kind == "http.response.pathsend":
                from_wire = True  # the server sent a file: the body is only on the wire
            elif kind == "websocket.send" and event.user != "dropped":
                ws.append(WebSocketMessage("receive", event.t_ns, _ws_data(event.message)))
        elif isinstance(event, BytesSent):
            times.first_out = event.t_ns if times.first_out is None else times.first_out
            times.last_out = event.t_ns
    times.end = exchange.t_end
    if exchange.received is not None:
        times.first_in, times.last_in = exchange.received
    else:
        times.first_in = times.last_in = times.scope
    _queued(store, exchange, times)
    request_body = b"".join(body)
    request = Request(
        method=str(scope.get("method", "GET")),
        scheme=str(scope.get("scheme", "http")),
        host=_host(scope),
        target=target(scope),
        http_version=f"HTTP/{scope.get('http_version', '1.1')}",
        headers=_headers(scope.get("headers")),
        body=request_body,
        body_size=len(request_body) + dropped_in,
        head_size=head_size,
        server=_server(scope),
    )
    if exchange.kind == "websocket" and request.method == "GET":
        request.scheme = "ws" if request.scheme in ("ws", "http") else "wss"
    response = _response(
        store, exchange, None if from_wire else start, b"".join(app_body), dropped_out
    )
    if from_wire and response is not None and start is not None:
        status = start.get("status")
        response.status = status if isinstance(status, int) else response.status
    return Flow(
        exchange=exchange.id,
        conn=exchange.conn,
        kind=str(scope.get("type")),
        request=request,
        response=response,
        times=times,
        server=request.server,
        scope=scope,
        messages=ws,
    )


def wire_bytes(chunks: list[tuple[int, bytes]], start: int, end: int) -> bytes:
    """The kept bytes of ``[start, end)`` from a connection's ``(offset, data)``
    chunks (in stream order), found by bisection: a long keep-alive connection
    has many chunks, and every exchange on it is exported."""
    out = []
    i = max(bisect.bisect_right(chunks, start, key=lambda c: c[0]) - 1, 0)
    while i < len(chunks) and chunks[i][0] < end:
        offset, data = chunks[i]
        lo, hi = max(start, offset), min(end, offset + len(data))
        if lo < hi:
            out.append(data[lo - offset : hi - offset])
        i += 1
    return b"".join(out)


def dechunk(data: bytes) -> bytes:
    """The payload of a chunked body (RFC 9112 §7.1), as far as ``data`` goes;
    chunk extensions and trailers are dropped."""
    out = bytearray()
    pos = 0
    while True:
        eol = data.find(b"\r\n", pos)
        if eol < 0:
            break
        try:
            size = int(data[pos:eol].split(b";")[0], 16)
        except ValueError:
            break
        if size == 0:
            break
        out += data[eol + 2 : eol + 2 + size]
        pos = eol + 2 + size + 2
    return bytes(out)


def _ws_data(message: dict[str, Any]) -> str | bytes:
    text = message.get("text")
    if isinstance(text, str):
        return text
    data = message.get("bytes")
    return data if isinstance(data, bytes) else b""


def _queued(store: Store, exchange: Exchange, times: Times) -> None:
    """Set ``times.queued_behind`` if the request arrived before the previous
    exchange on its connection ended (pipelining, RFC 9112 §9.3.2)."""
    previous = store.exchanges.get(exchange.previous) if exchange.previous else None
    if previous is None or previous.t_end is None or times.first_in is None:
        return
    if previous.t_end > times.first_in:
        times.queued_behind = previous.t_end


def _server(scope: dict[str, Any]) -> tuple[str, int] | None:
    server = scope.get("server")
    if isinstance(server, (list, tuple)) and len(server) == 2:
        host, port = server
        if isinstance(host, str) and isinstance(port, int) and not isinstance(port, bool):
            return (host, port)
    return None


def _host(scope: dict[str, Any]) -> str:
    host = first(_headers(scope.get("headers")), b"host")
    if host:
        return host.decode("latin-1")
    server = scope.get("server")
    if isinstance(server, (list, tuple)) and len(server) == 2:
        return f"{server[0]}:{server[1]}"
    return "localhost"


def target(scope: dict[str, Any]) -> str:
    """The request target of ``scope`` as on the wire (RFC 9112 §3.2, origin-form):
    ``raw_path`` if the server gave one, else ``root_path`` and ``path``
    percent-encoded; then ``?`` and the query string, if any."""
    raw = scope.get("raw_path")
    if isinstance(raw, bytes) and raw:
        path = raw.decode("latin-1")
    else:
        path = quote(
            str(scope.get("root_path", "")) + str(scope.get("path", "/")),
            safe=PATH_SAFE,
        )
    query = scope.get("query_string") or b""
    return path + ("?" + _bytes(query).decode("latin-1") if query else "")


def _response(
    store: Store, exchange: Exchange, start: dict[str, Any] | None, body: bytes, dropped: int
) -> Response | None:
    """The response from the bytes sent (head) and the app's messages (body);
    for a response the server wrote on its own (a 500), the body from the wire."""
    conn = store.connections.get(exchange.conn)
    raw = b""
    if conn is not None and exchange.wire_out is not None:
        raw = wire_bytes(conn.sent, *exchange.wire_out)
    head, sep, rest = raw.partition(b"\r\n\r\n")
    while sep and head[9:10] == b"1" and rest.startswith(b"HTTP/"):  # 100 Continue first
        head, sep, rest = rest.partition(b"\r\n\r\n")
    if sep:
        lines = head.split(b"\r\n")
        version, _, status_reason = lines[0].partition(b" ")
        status_text, _, reason = status_reason.partition(b" ")
        headers = []
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            headers.append((name.strip().lower(), value.strip()))
        if start is None:  # the server's own answer, or a file it sent: the wire's body
            framing = first(headers, b"transfer-encoding") or b""
            body = dechunk(rest) if b"chunked" in framing.lower() else rest
            sent = exchange.bytes_out - len(head) - 4
            dropped = max(sent - len(rest), 0)
        status = int(status_text) if status_text.isdigit() else exchange.status or 0
        return Response(
            status=status,
            reason=reason.decode("latin-1"),
            http_version=version.decode("latin-1"),
            headers=headers,
            body=body,
            body_size=len(body) + dropped,
            head_size=len(head) + 4,
        )
    if start is None:
        return None
    status = start.get("status")
    return Response(
        status=status if isinstance(status, int) else 0,
        reason="",
        http_version="HTTP/1.1",
        headers=_headers(start.get("headers")),
        body=body,
        body_size=len(body) + dropped,
    )
