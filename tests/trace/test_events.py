"""The event stream a real server records: order, ids, byte offsets, and the
links between messages and the bytes on the wire."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import pytest

from asgi_scope.trace.events import (
    EXCHANGE_EVENTS,
    AppRaised,
    BytesReceived,
    BytesSent,
    ConnectionClosed,
    ConnectionOpened,
    Event,
    ExchangeEnded,
    MessageReceived,
    MessageSent,
    ScopeCreated,
)
from tests.live import Live, read_body, request, respond


async def echo_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Echoes the body; ``/chunked`` answers in two chunks without a length;
    ``/raise`` fails before responding."""
    body = await read_body(receive)
    if scope["path"] == "/raise":
        raise KeyError("nope")
    if scope["path"] == "/chunked":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body[:3], "more_body": True})
        await send({"type": "http.response.body", "body": body[3:], "more_body": False})
        return
    await respond(send, body, headers=[(b"content-type", b"application/octet-stream")])


@dataclass
class Session:
    """A recorded session of two connections, and what each client sent and got."""

    live: Live
    sent: dict[int, bytes]  # conn id -> every byte the client sent
    got: dict[int, bytes]  # conn id -> every byte the client received
    chunked_body: bytes  # the framing of the chunked request on conn 1

    def all(self, kind: type[Any] = Event, **match: Any) -> list[Any]:
        return self.live.events(kind, **match)


CHUNKS = [b"first chunk, ", b"second, ", b"third"]


@pytest.fixture
def session(serve) -> Session:
    live = serve(echo_app)
    chunked_body = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in CHUNKS) + b"0\r\n\r\n"
    first = [
        request("POST", "/length", body=b"content-length body"),
        request("POST", "/chunked", [("Transfer-Encoding", "chunked")]) + chunked_body,
        request("GET", "/raise"),
    ]
    expect = request("POST", "/", [("Expect", "100-continue")], body=b"later")
    second = [expect[: -len(b"later")], b"later"]
    with live.connect() as one, live.connect() as two:
        clients = {one.sock.getsockname(): (one, first), two.sock.getsockname(): (two, second)}
        for data in first:
            one.send(data)
            one.read_response()
        one.read_eof()  # closed by the server after the 500
        for data in second:
            two.send(data)
            two.read_response()  # 100 Continue, then the answer
        two.close()

    live.collect(
        lambda s: len(s.connections) == 2 and all(c.t_close for c in s.connections.values())
    )
    sent, got = {}, {}
    for opened in live.events(ConnectionOpened):
        client, requests = clients[opened.client]
        sent[opened.conn] = b"".join(requests)
        got[opened.conn] = client.received
    return Session(live, sent, got, chunked_body)


def test_seq_counts_every_event_and_time_never_goes_back(session: Session):
    events = session.all()
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    times = [e.t_ns for e in events]
    assert times == sorted(times)
    assert all(t >= 0 for t in times)


def test_connection_ids_bracket_their_events(session: Session):
    events = session.all()
    opened = session.all(ConnectionOpened)
    assert sorted(e.conn for e in opened) == [1, 2]
    for conn in (1, 2):
        mine = [e for e in events if e.conn == conn]
        assert isinstance(mine[0], ConnectionOpened)
        assert isinstance(mine[-1], ConnectionClosed)
        assert len([e for e in mine if isinstance(e, ConnectionClosed)]) == 1
    for event in opened:
        assert event.server == ("127.0.0.1", session.live.port)


def test_exchange_ids_are_unique_and_stay_on_one_connection(session: Session):
    scopes = session.all(ScopeCreated)
    assert len(scopes) == 4
    assert len({s.exchange for s in scopes}) == 4
    for scope in scopes:
        mine = [
            e
            for e in session.all()
            if isinstance(e, EXCHANGE_EVENTS) and e.exchange == scope.exchange
        ]
        assert {e.conn for e in mine} == {scope.conn}
        app_side = [e for e in mine if not isinstance(e, (BytesReceived, BytesSent))]
        assert app_side[0] is scope
        assert isinstance(app_side[-1], ExchangeEnded)
        assert scope.scope["client"] == next(
            o.client for o in session.all(ConnectionOpened) if o.conn == scope.conn
        )
    # Keep-alive: three exchanges, in order, on the first connection.
    assert [s.scope["path"] for s in scopes if s.conn == 1] == ["/length", "/chunked", "/raise"]


@pytest.mark.parametrize(("kind", "side"), [(BytesReceived, "sent"), (BytesSent, "got")])
def test_byte_offsets_are_contiguous_per_direction(session: Session, kind: type, side: str):
    for conn in (1, 2):
        chunks = session.all(kind, conn=conn)
        offset = 0
        for event in chunks:
            assert event.offset == offset
            assert event.size == len(event.data)  # nothing cut below the cap
            offset += event.size
        wire = getattr(session, side)[conn]
        assert offset == len(wire)
        assert b"".join(e.data for e in chunks) == wire


def received_slice(session: Session, conn: int, wire: tuple[int, int]) -> bytes:
    start, end = wire
    assert 0 <= start <= end <= len(session.sent[conn])
    return session.sent[conn][start:end]


def test_scope_wire_is_the_request_head(session: Session):
    for scope in session.all(ScopeCreated):
        head = received_slice(session, scope.conn, scope.wire)
        method = scope.scope["method"].encode()
        assert head.startswith(method + b" " + scope.scope["raw_path"] + b" HTTP/1.1\r\n")
        assert head.endswith(b"\r\n\r\n")
        assert head.count(b"\r\n\r\n") == 1


def body_messages(session: Session, path: str) -> list[MessageReceived]:
    scope = next(s for s in session.all(ScopeCreated) if s.scope["path"] == path)
    return [
        m
        for m in session.all(MessageReceived, exchange=scope.exchange)
        if m.message["type"] == "http.request"
    ]


def test_content_length_body_wire_slices_to_exactly_the_body(session: Session):
    messages = body_messages(session, "/length")
    assert b"".join(m.message["body"] for m in messages) == b"content-length body"
    sliced = b"".join(received_slice(session, 1, m.wire) for m in messages if m.wire)
    assert sliced == b"content-length body"


def test_chunked_body_wire_slices_to_the_chunk_framing(session: Session):
    messages = body_messages(session, "/chunked")
    assert b"".join(m.message["body"] for m in messages) == b"".join(CHUNKS)
    sliced = b"".join(received_slice(session, 1, m.wire) for m in messages if m.wire)
    assert sliced == session.chunked_body
    # Ranges are in order and do not overlap.
    wires = [m.wire for m in messages if m.wire]
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(wires))


def test_bodyless_request_message_has_no_wire(session: Session):
    (message,) = body_messages(session, "/raise")
    assert message.message == {"type": "http.request", "body": b"", "more_body": False}
    assert message.wire is None


def test_bytes_sent_cause_links_to_the_message_that_produced_them(session: Session):
    by_seq = {e.seq: e for e in session.all()}
    linked = [e for e in session.all(BytesSent) if e.cause]
    assert linked
    for chunk in linked:
        message = by_seq[chunk.cause]
        assert isinstance(message, MessageSent)
        assert (message.conn, message.exchange) == (chunk.conn, chunk.exchange)
        assert message.seq < chunk.seq
        if message.message["type"] == "http.response.start":
            assert chunk.data.startswith(b"HTTP/1.1 %d " % message.message["status"])
    # The chunked response: each body message became exactly its chunk.
    scope = next(s for s in session.all(ScopeCreated) if s.scope["path"] == "/chunked")
    bodies = [m for m in session.all(MessageSent, exchange=scope.exchange) if "body" in m.message]
    framed = [[c.data for c in linked if c.cause == m.seq] for m in bodies]
    rest = b"".join(CHUNKS)[3:]
    assert framed == [[b"3\r\nfir\r\n"], [b"%x\r\n%s\r\n0\r\n\r\n" % (len(rest), rest)]]


def test_server_written_bytes_have_no_cause(session: Session):
    unlinked = [e for e in session.all(BytesSent) if not e.cause]
    statuses = sorted(e.data.split(b" ")[1] for e in unlinked)
    assert statuses == [b"100", b"500"]  # the 100 Continue and the 500 for /raise
    raised = session.all(AppRaised)[0]
    assert raised.exc_type == "KeyError"
    five_hundred = next(e for e in unlinked if b" 500 " in e.data)
    assert five_hundred.exchange == raised.exchange


def test_every_message_sent_became_bytes_or_was_empty(session: Session):
    store = session.live.store
    for message in session.all(MessageSent):
        wire = store.exchanges[message.exchange].sent_wire(message)
        body = message.message.get("body", b"")
        if message.message["type"] == "http.response.start" or body:
            assert wire is not None
            data = session.got[message.conn][wire[0] : wire[1]]
            assert body in data
        elif message.message.get("more_body"):
            assert wire is None
