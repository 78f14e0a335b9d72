"""The body cap (``Config.max_body``): bodies and raw bytes are kept up to the cap
per exchange and direction, with their true sizes recorded."""

from __future__ import annotations

from typing import Any

from asgi_scope.trace.events import (
    BytesReceived,
    BytesSent,
    ExchangeEnded,
    MessageReceived,
    MessageSent,
)
from tests.live import read_body, request, respond

BODY = bytes(range(250)) * 20  # 5000 bytes


async def echo(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await respond(send, await read_body(receive))


def test_bodies_over_the_cap_are_cut_with_their_true_length_kept(serve):
    live = serve(echo, max_body=1000)
    upload = request("POST", "/", body=BODY)
    with live.connect() as conn:
        conn.send(upload)
        response = conn.read_response()
    assert response.body == BODY  # the cap is on the trace, not the traffic

    ended = live.wait_for(ExchangeEnded)
    received = live.events(MessageReceived, exchange=ended.exchange)
    assert b"".join(m.message["body"] for m in received) == BODY[:1000]
    assert sum(m.dropped for m in received) == 4000

    sent = [m for m in live.events(MessageSent) if "body" in m.message]
    assert [(m.message["body"], m.dropped) for m in sent] == [(BODY[:1000], 4000)]

    raw_in = live.events(BytesReceived)
    assert sum(e.size for e in raw_in) == len(upload)
    assert sum(len(e.data) for e in raw_in) <= 1000
    assert b"".join(e.data for e in raw_in) == upload[:1000]

    raw_out = live.events(BytesSent)
    assert sum(e.size for e in raw_out) == len(conn.received)
    assert sum(len(e.data) for e in raw_out) <= 1000
    assert conn.received.startswith(b"".join(e.data for e in raw_out))

    exchange = live.store.exchanges[ended.exchange]
    assert (exchange.bytes_in, exchange.bytes_out) == (len(upload), len(conn.received))


def test_the_cap_is_per_exchange(serve):
    live = serve(echo, max_body=1000)
    with live.connect() as conn:
        conn.send(request("POST", "/big", body=BODY))
        conn.read_response()
        conn.send(request("POST", "/small", body=b"small and whole"))
        assert conn.read_response().body == b"small and whole"
    live.collect(lambda s: len(live.events(ExchangeEnded)) == 2)
    second = live.events(ExchangeEnded)[1].exchange
    (received,) = live.events(MessageReceived, exchange=second)
    assert (received.message["body"], received.dropped) == (b"small and whole", 0)
    raw = live.events(BytesReceived, exchange=second)
    assert b"".join(e.data for e in raw) == request("POST", "/small", body=b"small and whole")


def test_bodies_under_the_cap_are_kept_whole(serve):
    live = serve(echo, max_body=10_000)
    with live.connect() as conn:
        conn.send(request("POST", "/", body=BODY))
        conn.read_response()
    live.wait_for(ExchangeEnded)
    received = live.events(MessageReceived)
    assert b"".join(m.message["body"] for m in received) == BODY
    assert sum(m.dropped for m in received) == 0
