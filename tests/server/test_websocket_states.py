"""The WebSocket session's state machine, driven without sockets.

A :class:`~asgi_scope.server.websocket.WebSocketSession` over a real
``h11.Connection`` (past the opening handshake's head) and a
:class:`~tests.server.fake_edge.FakeEdge`; the client's frames are built by a
wsproto client. Each test asserts the :class:`SessionState` transitions, the
messages the app receives and the bytes written, as h11's own tests do.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

import pytest
from wsproto.connection import CLIENT, Connection
from wsproto.events import BytesMessage, CloseConnection, Message, TextMessage

from asgi_scope.server.h11_private import header_fields
from asgi_scope.server.websocket import (
    ClientDisconnected,
    SessionState,
    WebSocketSession,
)
from tests.server.fake_edge import FakeEdge, parse_request, scope_for

CLOSE_TIMEOUT = 0.25
"""Seconds the client has to answer the session's close frame, in these tests."""

HANDSHAKE = (
    b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
    b"Sec-WebSocket-Protocol: chat\r\n\r\n"
)
ACCEPT = {"type": "websocket.accept"}


def make_session(
    request: bytes = HANDSHAKE, max_size: int = 1 << 20
) -> tuple[FakeEdge, WebSocketSession]:
    edge = FakeEdge()
    h, event = parse_request(edge, request)
    h.next_event()  # the request's end (a GET has no body)
    scope = scope_for("websocket", event)
    session = WebSocketSession(
        edge, h, 1, event, header_fields(event.headers), (0, len(request)), scope,
        None, lambda: [], max_size, CLOSE_TIMEOUT,
    )  # fmt: skip
    return edge, session


def run(coro: Awaitable[Any]) -> Any:
    async def main() -> Any:
        return await asyncio.wait_for(coro, 5)

    return asyncio.run(main())


def client_sends(edge: FakeEdge, session: WebSocketSession, client: Connection, event: Any) -> None:
    """The client's frames for ``event``, received by the session."""
    data = client.send(event)
    edge.in_offset += len(data)
    session.data_received(data)


def opened() -> tuple[FakeEdge, WebSocketSession, Connection]:
    """A session the app accepted, its 101 taken, and the client's wsproto."""
    edge, session = make_session()
    assert session.start()
    assert run(session.receive())[0] == {"type": "websocket.connect"}
    run(session.send(ACCEPT))
    edge.take()
    return edge, session, Connection(CLIENT)


def test_accept_sends_101_and_opens():
    edge, session = make_session()
    assert session.state is SessionState.CONNECTING
    assert session.start()
    assert session.scope["subprotocols"] == ["chat"]
    run(session.send({"type": "websocket.accept", "subprotocol": "chat"}))
    assert session.state is SessionState.OPEN and session.accepted
    head = edge.take()
    assert head.startswith(b"HTTP/1.1 101 Switching Protocols\r\n")
    assert b"sec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n" in head
    assert b"sec-websocket-protocol: chat\r\n" in head


def test_messages_both_ways():
    edge, session, client = opened()
    client_sends(edge, session, client, Message(data="héllo"))
    client_sends(edge, session, client, Message(data=b"\x00\xff"))
    assert run(session.receive())[0] == {"type": "websocket.receive", "text": "héllo"}
    assert run(session.receive())[0] == {"type": "websocket.receive", "bytes": b"\x00\xff"}
    run(session.send({"type": "websocket.send", "text": "hi"}))
    client.receive_data(edge.take())
    assert [e.data for e in client.events() if isinstance(e, TextMessage)] == ["hi"]
    assert session.state is SessionState.OPEN


def test_the_app_closes_then_the_client_answers():
    edge, session, client = opened()
    run(session.send({"type": "websocket.close", "code": 1001, "reason": "bye"}))
    assert session.state is SessionState.CLOSING
    assert [t.delay for t in edge.timers] == [CLOSE_TIMEOUT]
    client.receive_data(edge.take())
    close = next(e for e in client.events() if isinstance(e, CloseConnection))
    assert (close.code, close.reason) == (1001, "bye")
    client_sends(edge, session, client, close.response())
    assert session.state is SessionState.CLOSED
    assert edge.closed == ("server", "WebSocket closed")
    with pytest.raises(RuntimeError, match=r"after 'websocket\.close'"):
        run(session.send({"type": "websocket.send", "text": "late"}))


def test_the_client_closes():
    edge, session, client = opened()
    client_sends(edge, session, client, CloseConnection(code=1000, reason="done"))
    assert session.state is SessionState.CLOSED
    assert edge.closed == ("client", "WebSocket close 1000")
    client.receive_data(edge.take())
    assert any(isinstance(e, CloseConnection) for e in client.events())  # answered
    message = run(session.receive())[0]
    assert message == {"type": "websocket.disconnect", "code": 1000, "reason": "done"}
    with pytest.raises(ClientDisconnected):
        run(session.send({"type": "websocket.send", "text": "late"}))


def test_a_message_over_the_maximum_size_closes_1009():
    edge, session = make_session(max_size=4)
    session.start()
    run(session.send(ACCEPT))
    client_sends(edge, session, Connection(CLIENT), BytesMessage(data=b"12345"))
    assert session.state is SessionState.CLOSED
    assert edge.closed is not None and edge.closed[1].startswith("WebSocket close 1009")
    assert run(session.receive())[0] == {"type": "websocket.connect"}
    assert run(session.receive())[0]["code"] == 1009


def test_close_before_accept_is_refused_403():
    edge, session = make_session()
    session.start()
    run(session.send({"type": "websocket.close"}))
    assert session.state is SessionState.REFUSED and session.status == 403
    assert edge.take().startswith(b"HTTP/1.1 403 Forbidden\r\n")
    assert run(session.receive())[0] == {"type": "websocket.connect"}
    assert run(session.receive())[0]["type"] == "websocket.disconnect"
    with pytest.raises(RuntimeError, match=r"after 'websocket\.close'"):
        run(session.send({"type": "websocket.close"}))


def test_the_denial_response():
    edge, session = make_session()
    session.start()
    run(session.send({"type": "websocket.http.response.start", "status": 401}))
    assert session.state is SessionState.DENYING
    run(session.send({"type": "websocket.http.response.body", "body": b"no", "more_body": True}))
    assert session.state is SessionState.DENYING
    run(session.send({"type": "websocket.http.response.body", "body": b"!"}))
    assert session.state is SessionState.DENIED and not session.accepted
    written = edge.take()
    assert written.startswith(b"HTTP/1.1 401 Unauthorized\r\n")
    assert written.endswith(b"2\r\nno\r\n1\r\n!\r\n0\r\n\r\n")  # chunked
    assert edge.closed == ("server", "WebSocket denied (401)")
    with pytest.raises(RuntimeError, match=r"websocket\.http\.response\.body"):
        run(session.send({"type": "websocket.http.response.body", "body": b"more"}))


def test_an_invalid_handshake_is_refused_without_calling_the_app():
    edge, session = make_session(HANDSHAKE.replace(b"Version: 13", b"Version: 8"))
    assert not session.start()
    assert session.state is SessionState.REFUSED
    written = edge.take()
    assert written.startswith(b"HTTP/1.1 426 Upgrade Required\r\n")
    assert b"sec-websocket-version: 13\r\n" in written
    assert edge.closed is not None


def test_the_client_leaves_during_the_handshake():
    edge, session = make_session()
    session.start()
    session.connection_lost()
    assert session.state is SessionState.CLOSED
    assert run(session.receive())[0] == {"type": "websocket.connect"}
    message = run(session.receive())[0]
    assert message == {"type": "websocket.disconnect", "code": 1006, "reason": ""}
    with pytest.raises(ClientDisconnected):
        run(session.send(ACCEPT))
    assert edge.take() == b""


@pytest.mark.parametrize(
    ("accept", "state", "starts"),
    [(False, SessionState.REFUSED, b"HTTP/1.1 500 "), (True, SessionState.CLOSED, b"\x88")],
)
def test_shutdown(accept: bool, state: SessionState, starts: bytes):
    edge, session = make_session()
    session.start()
    if accept:
        run(session.send(ACCEPT))
        edge.take()
    session.shutdown()
    assert session.state is state
    assert edge.take().startswith(starts)  # a 500, or a close frame (1012)
    assert edge.closed == ("server", "shutting down")


@pytest.mark.parametrize(
    ("fails", "state", "sent"),
    [
        (False, SessionState.CLOSING, b"\x88\x02\x03\xe8"),  # close 1000
        (True, SessionState.CLOSING, b"\x88\x10\x03\xf3the app raised"),  # close 1011
    ],
)
def test_the_app_ends_after_accept(fails: bool, state: SessionState, sent: bytes):
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        await send(ACCEPT)
        if fails:
            raise ValueError("boom")

    edge, session = make_session()
    session.app = app
    session.start()
    run(session.run())
    assert session.state is state and session.app_returned
    assert edge.take().endswith(sent)


def test_the_app_ends_without_answering_gets_500():
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await receive()

    edge, session = make_session()
    session.app = app
    session.start()
    run(session.run())
    assert session.state is SessionState.REFUSED and session.status == 500
    assert edge.take().startswith(b"HTTP/1.1 500 ")
    assert edge.closed == ("server", "app ended before answering the WebSocket handshake")
