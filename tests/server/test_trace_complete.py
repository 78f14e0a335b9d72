"""Trace completeness: a scripted exchange of each scope type (``http``,
``websocket``, ``lifespan``) yields exactly the expected, ordered event list.

Each event of the exchange is reduced to a tuple of what a view relies on:
its kind, the message type and direction, and the byte ranges (``wire``) on
the connection's streams. The whole list is compared, so a missing, extra or
misplaced event, or a range off by one byte, fails the test: the trace can be
trusted as a record of what happened.

Raw sockets script the client, so every byte the server saw is known here.
Bytes that TCP delivered in several reads are one ``bytes`` entry here
(consecutive chunks are merged before comparing).
"""

from __future__ import annotations

from typing import Any

from asgi_scope.trace.events import (
    BytesReceived,
    BytesSent,
    ConnectionClosed,
    Event,
    ExchangeEnded,
    LifespanState,
    MessageReceived,
    MessageSent,
    ProtocolError,
    ScopeCreated,
    WebSocketFrame,
)
from tests.live import Live, request
from tests.server import ws_client as wsc


def describe(events: list[Event]) -> list[tuple[Any, ...]]:
    """The events as comparable tuples, consecutive byte chunks merged."""
    sent_types = {e.seq: e.message["type"] for e in events if isinstance(e, MessageSent)}
    out: list[tuple[Any, ...]] = []
    for e in events:
        if isinstance(e, BytesReceived):
            item: tuple[Any, ...] = ("bytes in", e.offset, e.offset + e.size)
        elif isinstance(e, BytesSent):
            item = ("bytes out", e.offset, e.offset + e.size, sent_types.get(e.cause, "server"))
        elif isinstance(e, ScopeCreated):
            item = ("scope", e.scope["type"], e.wire)
        elif isinstance(e, MessageReceived):
            item = ("receive", e.message["type"], e.wire)
        elif isinstance(e, MessageSent):
            item = ("send", e.message["type"])
        elif isinstance(e, WebSocketFrame):
            cause = sent_types.get(e.cause, "server") if e.direction == "out" else ""
            item = (f"frame {e.direction}", e.opcode, e.fin, e.length, e.wire, e.complete, cause)
        elif isinstance(e, ExchangeEnded):
            item = ("ended", e.outcome, e.status)
        elif isinstance(e, ProtocolError):
            item = ("protocol error", e.by, e.status)
        elif isinstance(e, LifespanState):
            item = ("state", sorted(e.state))
        elif isinstance(e, ConnectionClosed):
            item = ("closed", e.by)
        else:
            item = (type(e).__name__,)
        previous = out[-1] if out else None
        if (
            previous is not None
            and previous[0] == item[0]
            and item[0] in ("bytes in", "bytes out")
            and previous[2] == item[1]
            and previous[3:] == item[3:]
        ):
            out[-1] = (item[0], previous[1], item[2], *item[3:])
        else:
            out.append(item)
    return out


def exchange_trace(live: Live, exchange: int) -> list[tuple[Any, ...]]:
    """The exchange's events, then how its connection closed."""
    events = [e for e in live.store.events if getattr(e, "exchange", None) == exchange]
    conn = events[0].conn
    closed = [e for e in live.store.events if isinstance(e, ConnectionClosed) and e.conn == conn]
    return describe(events + closed)


async def echo_http(scope: dict[str, Any], receive: Any, send: Any) -> None:
    message = await receive()
    body = message["body"]
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


def test_http_exchange_is_traced_completely(serve):
    live = serve(echo_http, server_header=False, date_header=False)
    data = request("POST", "/echo", [("Connection", "close")], body=b"hello")
    head = data.index(b"\r\n\r\n") + 4
    with live.connect() as raw:
        raw.send(data)
        response = raw.read_eof()
    start_len = response.index(b"\r\n\r\n") + 4
    done = live.wait_for(ExchangeEnded)
    live.wait_for(ConnectionClosed)
    assert exchange_trace(live, done.exchange) == [
        ("bytes in", 0, len(data)),
        ("scope", "http", (0, head)),
        ("receive", "http.request", (head, len(data))),
        ("send", "http.response.start"),
        ("bytes out", 0, start_len, "http.response.start"),
        ("send", "http.response.body"),
        ("bytes out", start_len, len(response), "http.response.body"),
        ("ended", "complete", 200),
        ("closed", "server"),
    ]


async def ws_echo(scope: dict[str, Any], receive: Any, send: Any) -> None:
    assert (await receive())["type"] == "websocket.connect"
    await send({"type": "websocket.accept"})
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            return
        await send({"type": "websocket.send", "text": message["text"]})


def test_websocket_exchange_is_traced_completely(serve):
    """Handshake bytes, then every frame both ways with its range, and the
    message each frame became; pings and the close reply are the server's."""
    live = serve(ws_echo, server_header=False, date_header=False)
    handshake = wsc.handshake("/ws")
    text = wsc.frame(wsc.TEXT, b"hi")  # 2 + 4 + 2 bytes
    ping = wsc.frame(wsc.PING, b"p")
    close = wsc.frame(wsc.CLOSE, wsc.close_payload(1000))
    with live.connect() as raw:
        raw.send(handshake)
        head = raw.read_head()[3]
        raw.send(text)
        assert wsc.read_frame(raw) == (True, wsc.TEXT, b"hi")
        raw.send(ping)
        assert wsc.read_frame(raw) == (True, wsc.PONG, b"p")
        raw.send(close)
        assert wsc.read_close(raw) == (1000, "")
        assert raw.closed_within(2)
    done = live.wait_for(ExchangeEnded)
    live.wait_for(ConnectionClosed)
    h, o = len(handshake), len(head)  # ends of the handshake in each direction
    t, p, c = h + len(text), h + len(text) + len(ping), h + len(text) + len(ping) + len(close)
    assert exchange_trace(live, done.exchange) == [
        ("bytes in", 0, h),
        ("scope", "websocket", (0, h)),
        ("receive", "websocket.connect", (0, h)),
        ("send", "websocket.accept"),
        ("bytes out", 0, o, "websocket.accept"),
        ("bytes in", h, t),
        ("frame in", wsc.TEXT, True, 2, (h, t), True, ""),
        ("receive", "websocket.receive", (h, t)),
        ("send", "websocket.send"),
        ("bytes out", o, o + 4, "websocket.send"),
        ("frame out", wsc.TEXT, True, 2, (o, o + 4), True, "websocket.send"),
        ("bytes in", t, p),
        ("frame in", wsc.PING, True, 1, (t, p), True, ""),
        ("bytes out", o + 4, o + 7, "server"),
        ("frame out", wsc.PONG, True, 1, (o + 4, o + 7), True, "server"),
        ("bytes in", p, c),
        ("frame in", wsc.CLOSE, True, 2, (p, c), True, ""),
        ("bytes out", o + 7, o + 11, "server"),
        ("frame out", wsc.CLOSE, True, 2, (o + 7, o + 11), True, "server"),
        ("receive", "websocket.disconnect", None),
        ("ended", "complete", 101),
        ("closed", "client"),
    ]
    exchange = live.collect().exchanges[done.exchange]
    assert (exchange.kind, exchange.status, exchange.state, exchange.close_code) == (
        "websocket", 101, "done", 1000,
    )  # fmt: skip
    text_in = exchange.frames()[0]
    assert exchange.message_of(text_in).message == {"type": "websocket.receive", "text": "hi"}


def test_websocket_dropped_mid_frame_is_traced_with_the_cut_frame(serve):
    live = serve(ws_echo)
    handshake = wsc.handshake("/ws")
    cut = wsc.frame(wsc.BINARY, b"abcdefgh")[:8]  # header (2), key (4), 2 of 8 bytes
    with live.connect() as raw:
        raw.send(handshake)
        raw.read_head()
        raw.send(cut)
        live.wait_for(BytesReceived, offset=len(handshake))
    done = live.wait_for(ExchangeEnded)
    h = len(handshake)
    trace = exchange_trace(live, done.exchange)
    assert trace[-5:] == [
        ("bytes in", h, h + 8),
        ("frame in", wsc.BINARY, True, 8, (h, h + 8), False, ""),
        ("receive", "websocket.disconnect", None),
        ("ended", "complete", 101),
        ("closed", "client"),
    ]
    disconnect = [e for e in live.store.events if isinstance(e, MessageReceived)][-1]
    assert disconnect.message == {"type": "websocket.disconnect", "code": 1006, "reason": ""}
    assert live.store.exchanges[done.exchange].close_code == 1006


async def ws_denies(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await receive()
    await send({"type": "websocket.http.response.start", "status": 401, "headers": []})
    await send({"type": "websocket.http.response.body", "body": b"no"})


def test_websocket_denial_is_traced_completely(serve):
    live = serve(ws_denies, server_header=False, date_header=False)
    handshake = wsc.handshake("/ws")
    with live.connect() as raw:
        raw.send(handshake)
        response = raw.read_eof()
    head = response.index(b"\r\n\r\n") + 4
    done = live.wait_for(ExchangeEnded)
    live.wait_for(ConnectionClosed)
    h = len(handshake)
    assert exchange_trace(live, done.exchange) == [
        ("bytes in", 0, h),
        ("scope", "websocket", (0, h)),
        ("receive", "websocket.connect", (0, h)),
        ("send", "websocket.http.response.start"),
        ("bytes out", 0, head, "websocket.http.response.start"),
        ("send", "websocket.http.response.body"),
        ("bytes out", head, len(response), "websocket.http.response.body"),
        ("ended", "complete", 401),
        ("closed", "server"),
    ]


def test_invalid_websocket_handshake_is_traced_as_a_client_error(serve):
    live = serve(ws_echo)
    handshake = wsc.handshake("/ws", key=None)
    with live.connect() as raw:
        raw.send(handshake)
        response = raw.read_eof()
    error = live.wait_for(ProtocolError)
    live.wait_for(ConnectionClosed)
    assert exchange_trace(live, error.exchange) == [
        ("bytes in", 0, len(handshake)),
        ("protocol error", "client", 400),
        ("bytes out", 0, len(response), "server"),
        ("closed", "server"),
    ]
    exchange = live.collect().exchanges[error.exchange]
    assert exchange.state == "error" and "Sec-WebSocket-Key" in exchange.error


class Lifespan:
    """An app with a lifespan that sets state and a trivial HTTP route."""

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            assert (await receive())["type"] == "lifespan.startup"
            scope["state"]["pool"] = "ready"
            await send({"type": "lifespan.startup.complete"})
            assert (await receive())["type"] == "lifespan.shutdown"
            await send({"type": "lifespan.shutdown.complete"})
            return
        await echo_http(scope, receive, send)


def test_lifespan_is_traced_completely(serve):
    live = serve(Lifespan(), lifespan="on")
    live.stop()
    live.collect()
    scope = live.events(ScopeCreated, conn=0)[0]
    assert exchange_trace(live, scope.exchange) == [
        ("scope", "lifespan", None),
        ("receive", "lifespan.startup", None),
        ("send", "lifespan.startup.complete"),
        ("state", ["pool"]),
        ("receive", "lifespan.shutdown", None),
        ("send", "lifespan.shutdown.complete"),
        ("ended", "complete", 0),
    ]
    assert live.events(ExchangeEnded, exchange=scope.exchange)[0].scope["state"] == {
        "pool": "ready"
    }


def test_fragments_and_a_ping_between_them_map_to_their_messages(serve):
    """Exchange.message_of: each fragment of a message maps to the one
    websocket.receive it became; a ping between fragments maps to none; the
    client's close to websocket.disconnect."""
    live = serve(ws_echo)
    with live.connect() as raw:
        raw.send(wsc.handshake("/ws"))
        raw.read_head()
        raw.send(wsc.frame(wsc.TEXT, b"hel", fin=False) + wsc.frame(wsc.PING, b"p"))
        raw.send(wsc.frame(wsc.CONTINUATION, b"lo", fin=True))
        assert wsc.read_frame(raw)[1] == wsc.PONG
        assert wsc.read_frame(raw) == (True, wsc.TEXT, b"hello")
        raw.send(wsc.frame(wsc.CLOSE, wsc.close_payload(1000)))
        wsc.read_close(raw)
    done = live.wait_for(ExchangeEnded)
    exchange = live.collect().exchanges[done.exchange]
    became = [
        (f.opcode, (m.message["type"] if m else None))
        for f in exchange.frames()
        if f.direction == "in"
        for m in [exchange.message_of(f)]
    ]
    assert became == [
        (wsc.TEXT, "websocket.receive"),
        (wsc.PING, None),
        (wsc.CONTINUATION, "websocket.receive"),
        (wsc.CLOSE, "websocket.disconnect"),
    ]
