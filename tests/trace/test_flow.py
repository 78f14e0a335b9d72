"""The flow model read from the store's exchanges, without sockets."""

from __future__ import annotations

from asgi_scope.trace.events import (
    BytesReceived,
    BytesSent,
    ConnectionOpened,
    ExchangeEnded,
    MessageReceived,
    MessageSent,
    ScopeCreated,
    WebSocketFrame,
)
from asgi_scope.trace.flow import flow_of, flows, target
from asgi_scope.trace.store import Store

HEAD = b"GET /a%20b?q=1 HTTP/1.1\r\nhost: x\r\n\r\n"
SCOPE = {
    "type": "http",
    "method": "GET",
    "path": "/a b",
    "raw_path": b"/a%20b",
    "query_string": b"q=1",
    "http_version": "1.1",
    "headers": [(b"host", b"x")],
}
RESPONSE = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nhi"


def _exchange(seq: int, t: int, exchange: int) -> list:
    """One GET on connection 1: bytes at ``t`` and ``t+1``, the scope at ``t+2``."""
    return [
        BytesReceived(seq, t, 1, exchange, 0, HEAD[:10], 10),
        BytesReceived(seq + 1, t + 1, 1, exchange, 10, HEAD[10:], len(HEAD) - 10),
        ScopeCreated(seq + 2, t + 2, 1, exchange, SCOPE, (0, len(HEAD))),
        MessageReceived(seq + 3, t + 3, 1, exchange, {"type": "http.request"}, None, 0),
        MessageSent(seq + 4, t + 4, 1, exchange, {"type": "http.response.start", "status": 200}, 0),
        MessageSent(seq + 5, t + 5, 1, exchange, {"type": "http.response.body", "body": b"hi"}, 0),
        BytesSent(seq + 6, t + 6, 1, exchange, 0, RESPONSE, len(RESPONSE), seq + 5),
        ExchangeEnded(seq + 7, t + 7, 1, exchange, SCOPE, "complete", 200),
    ]


def test_a_flow_is_its_request_response_and_times():
    store = Store()
    store.add([ConnectionOpened(1, 0, 1, ("127.0.0.1", 5), ("127.0.0.1", 8000))])
    store.add(_exchange(2, 100, 1))
    exchange = store.exchanges[1]
    assert exchange.received == (100, 101)
    assert exchange.path_query == "/a b?q=1"
    flow = flow_of(store, exchange)
    assert flow is not None
    assert (flow.request.method, flow.request.target) == ("GET", "/a%20b?q=1")
    assert flow.request.url == "http://x/a%20b?q=1"
    assert flow.response is not None and flow.response.status == 200
    assert (flow.response.body, flow.response.head_size) == (b"hi", len(RESPONSE) - 2)
    times = flow.times
    assert (times.first_in, times.last_in, times.scope, times.end) == (100, 101, 102, 107)


def test_the_exchange_before_on_the_connection_is_kept_for_pipelining():
    store = Store()
    store.add([ConnectionOpened(1, 0, 1, None, None)])
    store.add(_exchange(2, 100, 1)[:-1])  # not ended yet when the next request arrives
    store.add(_exchange(20, 103, 2))
    store.add([ExchangeEnded(40, 110, 1, 1, SCOPE, "complete", 200)])
    assert store.exchanges[2].previous == 1
    [first, second] = flows(store)
    assert first.times.queued_behind is None
    assert second.times.queued_behind == 110


def test_the_target_encodes_a_path_without_raw_path():
    assert target({"path": "/a b", "root_path": "/r", "query_string": b""}) == "/r/a%20b"


def test_a_websocket_close_code_says_whether_it_was_normal():
    store = Store()
    scope = {"type": "websocket", "path": "/ws", "headers": []}
    events = [ScopeCreated(1, 0, 0, 1, scope, None)]
    store.add(events)
    exchange = store.exchanges[1]
    assert not exchange.close_normal  # no close code yet
    close = (1011).to_bytes(2, "big")
    store.add([WebSocketFrame(2, 1, 0, 1, "in", 8, True, 2, close, (0, 8), True, 0)])
    assert exchange.close_code == 1011 and not exchange.close_normal
    exchange.close_code = 1001
    assert exchange.close_normal
