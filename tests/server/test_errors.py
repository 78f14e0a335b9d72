"""Failures: apps that raise or give up, and bytes that are not HTTP. Each test
also checks that the server goes on serving other connections afterwards."""

from __future__ import annotations

from typing import Any

import h11
import httpx

from asgi_scope.trace.events import (
    AppRaised,
    BytesReceived,
    ConnectionClosed,
    ExchangeEnded,
    MessageReceived,
    ProtocolError,
    ScopeCreated,
)
from tests.live import TIMEOUT, Live, read_body, request, respond


async def fragile_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """``/raise``: raises before responding; ``/return``: returns without
    responding; ``/midway``: raises after one chunk; anything else: 200 ok."""
    await read_body(receive)
    path = scope["path"]
    if path == "/raise":
        raise ValueError("no response for you")
    if path == "/return":
        return
    if path == "/midway":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"partial", "more_body": True})
        raise RuntimeError("died mid-stream")
    await respond(send, b"ok")


def assert_still_serving(live: Live) -> None:
    response = httpx.get(live.url + "/fine", timeout=TIMEOUT)
    assert (response.status_code, response.text) == (200, "ok")


def test_500_when_the_app_raises_before_starting_the_response(serve):
    live = serve(fragile_app)
    with live.connect() as conn:
        conn.send(request("GET", "/raise"))
        response = conn.read_response()
        assert conn.closed_within(TIMEOUT)
    assert response.status == 500
    assert response.header(b"connection") == b"close"

    raised = live.wait_for(AppRaised)
    assert (raised.exc_type, raised.message) == ("ValueError", "no response for you")
    ended = live.wait_for(ExchangeEnded)
    assert (ended.outcome, ended.status) == ("error", 500)
    assert live.store.exchanges[ended.exchange].status == 500
    assert_still_serving(live)


def test_500_when_the_app_returns_without_responding(serve):
    live = serve(fragile_app)
    with live.connect() as conn:
        conn.send(request("GET", "/return"))
        response = conn.read_response()
        assert conn.closed_within(TIMEOUT)
    assert response.status == 500
    ended = live.wait_for(ExchangeEnded)
    assert (ended.outcome, ended.status) == ("incomplete", 500)
    assert not live.events(AppRaised)
    assert_still_serving(live)


def test_connection_closed_when_the_app_raises_after_starting(serve):
    live = serve(fragile_app)
    with live.connect() as conn:
        conn.send(request("GET", "/midway"))
        status, _, _, head = conn.read_head()
        assert status == 200
        assert b"Transfer-Encoding: chunked" in head
        rest = conn.read_eof()
    # The chunk that was sent, then EOF: no terminating zero-size chunk.
    assert rest == b"7\r\npartial\r\n"

    ended = live.wait_for(ExchangeEnded)
    assert (ended.outcome, ended.status) == ("error", 200)
    closed = live.wait_for(ConnectionClosed)
    assert (closed.by, closed.reason) == ("server", "app failed during the response")
    assert_still_serving(live)


def test_app_breaking_the_protocol_is_recorded_and_the_connection_closed(serve):
    errors: list[BaseException] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await read_body(receive)
        try:
            headers = [(b"content-length", b"2")]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": b"too long"})
        except RuntimeError as exc:
            errors.append(exc)

    live = serve(app)
    with live.connect() as conn:
        conn.send(request("GET", "/"))
        conn.read_head()
        conn.read_eof()
    error = live.wait_for(ProtocolError)
    assert error.by == "app"
    assert "Content-Length" in error.detail
    assert len(errors) == 1 and "Content-Length" in str(errors[0])
    assert live.wait_for(ExchangeEnded).outcome == "complete"


def h11_detail(data: bytes) -> tuple[str, int]:
    """What h11 itself says about ``data`` sent by a client, as the trace shows it
    (the bytes it quotes without their ``bytearray(...)`` wrapper), and its status
    hint."""
    parser = h11.Connection(h11.SERVER, max_incomplete_event_size=16 * 1024)
    parser.receive_data(data)
    try:
        while parser.next_event() is not h11.NEED_DATA:
            pass
    except h11.RemoteProtocolError as exc:
        text = str(exc)
        if "bytearray(" in text:  # h11 quotes its buffer: one bytes literal at the end
            head, _, quoted = text.partition("bytearray(")
            text = head + quoted.removesuffix(")")
        return text, exc.error_status_hint
    raise AssertionError(f"h11 accepts {data[:60]!r}")


def assert_invalid_exchange(live: Live, sent: bytes, status: int, detail: str) -> None:
    """The bad request is one exchange of kind "invalid" with the bytes it was."""
    error = live.wait_for(ProtocolError)
    assert (error.by, error.status, error.detail) == ("client", status, detail)
    assert error.wire == (0, len(sent))
    store = live.collect(lambda s: all(c.t_close is not None for c in s.connections.values()))
    exchange = store.exchanges[error.exchange]
    assert exchange.kind == "invalid"
    assert (exchange.status, exchange.state, exchange.error) == (status, "error", detail)
    assert exchange.wire_in == (0, len(sent))
    connection = store.connections[error.conn]
    assert b"".join(d for _, d in connection.slice("in", error.wire)) == sent
    assert connection.closed_by == "server"
    assert not live.events(ScopeCreated), "the app was called for a bad request"


def test_400_for_a_malformed_request_line(serve):
    live = serve(fragile_app)
    sent = b"GARBAGE\r\n\r\n"
    with live.connect() as conn:
        conn.send(sent)
        response = conn.read_response()
        assert conn.closed_within(TIMEOUT)
    assert (response.status, response.reason) == (400, b"Bad Request")
    assert h11_detail(sent)[0] == "illegal request line: b'GARBAGE'"
    assert_invalid_exchange(live, sent, 400, h11_detail(sent)[0])
    assert_still_serving(live)


def test_400_for_a_bad_header_line_after_a_good_request(serve):
    """A bad second request on a keep-alive connection is its own exchange."""
    live = serve(fragile_app)
    with live.connect() as conn:
        conn.send(request("GET", "/fine"))
        assert conn.read_response().body == b"ok"
        conn.send(b"GET / HTTP/1.1\r\nHost: test\r\nno colon here\r\n\r\n")
        response = conn.read_response()
        assert conn.closed_within(TIMEOUT)
    assert response.status == 400
    error = live.wait_for(ProtocolError)
    first = live.wait_for(ExchangeEnded)
    assert error.exchange != first.exchange
    assert error.wire is not None and error.wire[0] == len(request("GET", "/fine"))
    assert live.store.exchanges[error.exchange].kind == "invalid"
    assert live.store.exchanges[first.exchange].state == "done"
    assert_still_serving(live)


def test_431_for_a_head_over_16_kib_still_arriving(serve):
    live = serve(fragile_app)
    sent = b"GET / HTTP/1.1\r\nHost: test\r\nX-Big: " + b"a" * (16 * 1024)  # no end yet
    detail, hint = h11_detail(sent)
    assert hint == 431
    with live.connect() as conn:
        conn.send(sent)
        response = conn.read_response()
        assert conn.closed_within(TIMEOUT)
    assert (response.status, response.reason) == (431, b"Request Header Fields Too Large")
    assert_invalid_exchange(live, sent, 431, detail)
    assert_still_serving(live)


def test_431_for_a_complete_head_over_16_kib(serve):
    """A head that arrives whole is held to the same limit as one arriving in
    pieces (h11 alone would accept it)."""
    live = serve(fragile_app)
    sent = request("GET", "/", [("X-Big", "b" * (17 * 1024))])
    with live.connect() as conn:
        conn.send(sent)
        response = conn.read_response()
        assert conn.closed_within(TIMEOUT)
    assert response.status == 431
    error = live.wait_for(ProtocolError)
    assert error.status == 431
    assert "too long" in error.detail
    assert_invalid_exchange(live, sent, 431, error.detail)
    assert_still_serving(live)


def test_head_just_under_the_limit_is_served(serve):
    live = serve(fragile_app)
    with live.connect() as conn:
        conn.send(request("GET", "/fine", [("X-Big", "c" * (15 * 1024))]))
        assert conn.read_response().status == 200


def test_non_http_bytes_get_400_and_the_server_goes_on(serve):
    live = serve(fragile_app)
    sent = b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(range(32)) + b"\r\n\r\n"
    with live.connect() as conn:
        conn.send(sent)  # a TLS ClientHello sent to a plain-HTTP port, say
        response = conn.read_response()
        assert conn.closed_within(TIMEOUT)
    assert response.status == 400
    assert live.wait_for(ProtocolError).detail == h11_detail(sent)[0]
    assert_still_serving(live)


def test_request_cut_short_is_still_recorded_as_an_exchange(serve):
    live = serve(fragile_app)
    sent = b"GET /never-finished HTTP/1.1\r\nHost: te"
    with live.connect() as conn:
        conn.send(sent)
        live.wait_for(BytesReceived)
    closed = live.wait_for(ConnectionClosed)
    assert closed.by == "client"
    error = live.wait_for(ProtocolError)
    assert (error.by, error.status, error.wire) == ("client", 0, (0, len(sent)))
    assert error.seq < closed.seq
    exchange = live.store.exchanges[error.exchange]
    assert (exchange.kind, exchange.state, exchange.t_end) == ("invalid", "error", error.t_ns)
    assert not live.events(ScopeCreated)


def test_request_head_left_hanging_is_closed_and_recorded(serve):
    live = serve(fragile_app, timeout_keep_alive=0.3)
    sent = request("GET", "/fine") + b"GET /slowloris HTTP/1.1\r\n"
    with live.connect() as conn:
        conn.send(sent)
        assert conn.read_response().status == 200
        assert conn.closed_within(TIMEOUT)
    closed = live.wait_for(ConnectionClosed)
    assert (closed.by, closed.reason) == ("server", "keep-alive timeout")
    error = live.wait_for(ProtocolError)
    assert error.wire == (len(request("GET", "/fine")), len(sent))
    assert live.store.exchanges[error.exchange].kind == "invalid"
    assert len(live.events(ExchangeEnded)) == 1


def test_bad_chunk_framing_mid_body_gets_400_and_the_app_a_disconnect(serve):
    received: list[dict[str, Any]] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await read_body(receive, into=received)
        await respond(send, b"too late")

    live = serve(app)
    head = request("POST", "/", [("Transfer-Encoding", "chunked")])
    with live.connect() as conn:
        conn.send(head + b"3\r\nabc\r\n")
        live.wait_for(MessageReceived)
        conn.send(b"zz\r\n")
        response = conn.read_response()
        assert conn.closed_within(TIMEOUT)
    assert response.status == 400
    assert received[0] == {"type": "http.request", "body": b"abc", "more_body": True}
    assert received[-1] == {"type": "http.disconnect"}

    error = live.wait_for(ProtocolError)
    assert error.detail == h11_detail(head + b"3\r\nabc\r\nzz\r\n")[0]
    ended = live.wait_for(ExchangeEnded)
    assert (ended.exchange, ended.status) == (error.exchange, 400)
    exchange = live.store.exchanges[error.exchange]
    assert (exchange.kind, exchange.status, exchange.method) == ("invalid", 400, "POST")
    assert b"too late" not in conn.received


def test_request_pipelined_after_connection_close_is_recorded_unanswered(serve):
    live = serve(fragile_app)
    first = request("GET", "/fine", [("Connection", "close")])
    sent = first + request("GET", "/fine")
    with live.connect() as conn:
        conn.send(sent)
        assert conn.read_response().status == 200
        assert conn.closed_within(TIMEOUT)
        assert conn.buf == b""
    error = live.wait_for(ProtocolError)
    assert (error.status, error.wire) == (0, (len(first), len(sent)))
    assert live.wait_for(ConnectionClosed).by == "server"
    ended = live.wait_for(ExchangeEnded)
    assert ended.exchange != error.exchange
