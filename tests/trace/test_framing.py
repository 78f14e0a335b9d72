"""The parts of messages on the wire, from bytes a real server received and sent."""

from __future__ import annotations

from typing import Any

import httpx

from asgi_scope.demo import app as demo_app
from asgi_scope.trace.events import ExchangeEnded, MessageReceived, MessageSent, ScopeCreated
from asgi_scope.trace.framing import event_at, part_at, parts
from asgi_scope.trace.store import Store
from tests.live import TIMEOUT


def _bytes(store: Store, exchange_id: int, direction: str) -> tuple[bytes, int]:
    exchange = store.exchanges[exchange_id]
    conn = store.connections[exchange.conn]
    wire = exchange.wire_in if direction == "in" else exchange.wire_out
    chunks = conn.slice(direction, wire)
    return b"".join(data for _, data in chunks), wire[0]


async def trailers_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):
        pass
    await send({"type": "http.response.start", "status": 200, "trailers": True,
                "headers": [(b"content-type", b"text/plain")]})  # fmt: skip
    await send({"type": "http.response.body", "body": b"hello ", "more_body": True})
    await send({"type": "http.response.body", "body": b"world"})
    await send({"type": "http.response.trailers", "headers": [(b"x-checksum", b"abc")]})


def test_a_chunked_request_and_a_chunked_response_with_trailers(serve):
    live = serve(trailers_app)
    with live.connect() as raw:
        raw.send(
            b"POST /up HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n"
            b"TE: trailers\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n"
        )
        raw.read_response()
    live.collect(lambda s: any(isinstance(e, ExchangeEnded) for e in s.events))
    exchange = next(iter(live.store.exchanges))
    data, start = _bytes(live.store, exchange, "in")
    found = parts(data, start)
    assert [p.kind for p in found] == [
        "head", "chunk-size", "chunk-data", "chunk-end", "chunk-size", "chunk-data",
        "chunk-end", "last-chunk", "trailers",
    ]  # fmt: skip
    text = [data[p.start - start : p.end - start] for p in found]
    assert text[1:] == [b"3\r\n", b"abc", b"\r\n", b"2;x=y\r\n", b"de", b"\r\n", b"0\r\n", b"\r\n"]
    assert [p.index for p in found if p.kind == "chunk-data"] == [1, 2]
    out, out_start = _bytes(live.store, exchange, "out")
    found = parts(out, out_start)
    assert [p.kind for p in found][-2:] == ["last-chunk", "trailers"]
    trailers = found[-1]
    assert out[trailers.start - out_start :] == b"x-checksum: abc\r\n\r\n"
    assert sum(p.kind == "chunk-data" for p in found) == 2


def test_content_length_bodies_interim_heads_and_the_reverse_map(serve):
    live = serve(demo_app)
    with live.connect() as raw:
        raw.send(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n"
                 b"Expect: 100-continue\r\n\r\n")  # fmt: skip
        assert raw.read_until(b"\r\n\r\n").startswith(b"HTTP/1.1 100")
        raw.send(b"hello")
        raw.read_response()
    live.collect(lambda s: any(isinstance(e, ExchangeEnded) for e in s.events))
    exchange_id = next(iter(live.store.exchanges))
    exchange = live.store.exchanges[exchange_id]
    data, start = _bytes(live.store, exchange_id, "in")
    found = parts(data, start)
    assert [p.kind for p in found] == ["head", "body"]
    assert isinstance(event_at(exchange, "in", found[0].start), ScopeCreated)
    body_event = event_at(exchange, "in", found[1].start)
    assert isinstance(body_event, MessageReceived) and body_event.message["body"] == b"hello"
    out, out_start = _bytes(live.store, exchange_id, "out")
    found = parts(out, out_start)
    assert [p.kind for p in found] == ["interim", "head", "body"]
    assert event_at(exchange, "out", found[0].start) is None  # the server's own 100
    start_event = event_at(exchange, "out", found[1].start + 3)
    assert isinstance(start_event, MessageSent)
    assert start_event.message["type"] == "http.response.start"
    body_sent = event_at(exchange, "out", found[2].end - 1)
    assert isinstance(body_sent, MessageSent) and body_sent.message["type"] == "http.response.body"
    assert part_at(found, found[2].start) is found[2]
    assert part_at(found, found[2].end) is None


def test_cut_or_strange_bytes_never_raise():
    strange = [
        b"",
        b"GET / HTTP/1.1\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nab",
        b"HTTP/1.1 101 Switching Protocols\r\n\r\n\x81\x02hi",
        b"\x00\xff" * 40,
    ]
    for data in strange:
        found = parts(data, 100)
        assert all(100 <= p.start <= p.end <= 100 + len(data) for p in found)


def test_a_streaming_response_from_the_demo(serve):
    live = serve(demo_app)
    httpx.get(f"{live.url}/stream", timeout=TIMEOUT)
    live.collect(lambda s: any(isinstance(e, ExchangeEnded) for e in s.events))
    exchange_id = next(iter(live.store.exchanges))
    out, start = _bytes(live.store, exchange_id, "out")
    kinds = [p.kind for p in parts(out, start)]
    assert kinds.count("chunk-data") == 5 and kinds[-2:] == ["last-chunk", "trailers"]
