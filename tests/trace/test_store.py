"""The store's indexes over events from a real server: exchanges (method, path,
status, state, byte ranges) and connections (addresses, raw bytes, slices)."""

from __future__ import annotations

import threading
from typing import Any

from asgi_scope.trace.events import ExchangeEnded, MessageSent, ScopeCreated, ServerNote
from asgi_scope.trace.store import Store
from tests.live import TIMEOUT, read_body, request, respond, wait_threading_event


def gated_app(gates: dict[str, threading.Event]) -> Any:
    """``/stream`` starts a response and waits for ``gates["finish"]``;
    ``/fail`` raises; anything else echoes."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["path"] == "/slow-body":
            await wait_threading_event(gates["read"])
        body = await read_body(receive)
        if scope["path"] == "/fail":
            raise LookupError("missing")
        if scope["path"] == "/stream":
            await send({"type": "http.response.start", "status": 201, "headers": []})
            await send({"type": "http.response.body", "body": b"half", "more_body": True})
            await wait_threading_event(gates["finish"])
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return
        await respond(send, body)

    return app


def test_exchange_state_follows_the_exchange(serve):
    gates = {"finish": threading.Event(), "read": threading.Event()}
    live = serve(gated_app(gates))
    with live.connect() as conn:
        conn.send(request("GET", "/stream?x=1"))
        conn.read_head()
        conn.read_chunk()
        store = live.collect(lambda s: any(x.state == "streaming" for x in s.exchanges.values()))
        (exchange,) = store.exchanges.values()
        assert (exchange.method, exchange.path, exchange.status) == ("GET", "/stream", 201)
        assert exchange.kind == "http"
        assert exchange.t_end is None and exchange.duration_ns is None
        gates["finish"].set()
        assert conn.read_chunk()[0] == b""

    live.wait_for(ExchangeEnded)
    assert exchange.state == "done"
    assert exchange.duration_ns is not None and exchange.duration_ns > 0
    assert exchange.scope is not None and exchange.scope["query_string"] == b"x=1"


def test_exchange_is_open_while_the_app_thinks(serve):
    gates = {"read": threading.Event()}
    live = serve(gated_app(gates))
    with live.connect() as conn:
        conn.send(request("POST", "/slow-body", body=b"abc"))
        live.wait_for(ScopeCreated)
        (exchange,) = live.store.exchanges.values()
        assert (exchange.state, exchange.status, exchange.method) == ("open", None, "POST")
        gates["read"].set()
        assert conn.read_response().body == b"abc"
    live.wait_for(ExchangeEnded)
    assert (exchange.state, exchange.status) == ("done", 200)


def test_failed_exchange_is_an_error_with_the_exception(serve):
    live = serve(gated_app({}))
    with live.connect() as conn:
        conn.send(request("GET", "/fail"))
        assert conn.read_response().status == 500
    live.wait_for(ExchangeEnded)
    (exchange,) = live.store.exchanges.values()
    assert (exchange.state, exchange.status) == ("error", 500)
    assert exchange.error == "LookupError: missing"
    assert live.store.errors == 1


def test_wire_ranges_and_connection_bytes(serve):
    live = serve(gated_app({}))
    first = request("POST", "/one", body=b"first body")
    second = request("POST", "/two", body=b"second")
    with live.connect() as conn:
        conn.send(first)
        one = conn.read_response()
        conn.send(second)
        conn.read_response()
        out_first = len(one.head) + len(one.body)
        client = conn.sock.getsockname()
    store = live.collect(lambda s: len(live.events(ExchangeEnded)) == 2)
    (connection,) = store.connections.values()
    assert connection.client == client
    assert connection.server == ("127.0.0.1", live.port)
    ex1, ex2 = (store.exchanges[x] for x in connection.exchanges)
    assert (ex1.path, ex2.path) == ("/one", "/two")

    assert ex1.wire_in == (0, len(first))
    assert ex2.wire_in == (len(first), len(first) + len(second))
    assert ex1.wire_out == (0, out_first)
    assert ex2.wire_out == (out_first, len(conn.received))
    assert (ex1.bytes_in, ex2.bytes_in) == (len(first), len(second))
    assert ex1.bytes_out + ex2.bytes_out == len(conn.received)
    assert (store.bytes_in, store.bytes_out) == (len(first + second), len(conn.received))

    def joined(direction: str, wire: tuple[int, int]) -> bytes:
        chunks = connection.slice(direction, wire)
        assert all(wire[0] <= o and o + len(d) <= wire[1] for o, d in chunks)
        return b"".join(d for _, d in chunks)

    assert joined("in", ex1.wire_in) == first
    assert joined("in", ex2.wire_in) == second
    assert joined("out", ex2.wire_out) == conn.received[out_first:]
    # Ranges that cut through recorded chunks are cut to fit.
    assert joined("in", (5, len(first) + 7)) == (first + second)[5 : len(first) + 7]
    assert joined("out", (3, 9)) == conn.received[3:9]
    assert connection.slice("in", (10_000, 20_000)) == []


def test_messages_and_sent_wire(serve):
    live = serve(gated_app({}))
    with live.connect() as conn:
        conn.send(request("POST", "/", body=b"hi"))
        response = conn.read_response()
    live.wait_for(ExchangeEnded)
    (exchange,) = live.store.exchanges.values()
    kinds = [m.message["type"] for m in exchange.messages()]
    assert kinds == ["http.request", "http.response.start", "http.response.body"]
    start, body = (m for m in exchange.messages() if isinstance(m, MessageSent))
    start_wire = exchange.sent_wire(start)
    body_wire = exchange.sent_wire(body)
    assert start_wire == (0, len(response.head))
    assert body_wire == (len(response.head), len(conn.received))
    assert conn.received[body_wire[0] : body_wire[1]] == b"hi"


def test_connection_close_is_indexed_and_clear_forgets(serve):
    live = serve(gated_app({}), timeout_keep_alive=0.2)
    with live.connect() as conn:
        conn.send(request("GET", "/"))
        conn.read_response()
        assert conn.closed_within(TIMEOUT)
    store = live.collect(lambda s: all(c.t_close for c in s.connections.values()))
    (connection,) = store.connections.values()
    assert (connection.closed_by, connection.reason) == ("server", "keep-alive timeout")
    assert connection.t_close is not None and connection.t_close > connection.t_open
    store.clear()
    assert (store.events, store.exchanges, store.connections) == ([], {}, {})
    assert (store.bytes_in, store.bytes_out, store.errors) == (0, 0, 0)


def test_add_returns_the_exchanges_touched(serve):
    live = serve(gated_app({}))
    with live.connect() as conn:
        conn.send(request("GET", "/a") + request("GET", "/b"))
        conn.read_response()
        conn.read_response()
    live.collect(lambda s: len(live.events(ExchangeEnded)) == 2)
    ids = {e.exchange for e in live.events(ScopeCreated)}
    fresh = Store()
    assert fresh.add(live.store.events) == ids
    assert fresh.add([]) == set()
    assert {x.path for x in fresh.exchanges.values()} == {"/a", "/b"}


def test_clear_mid_exchange_forgets_it_and_keeps_the_connection(serve):
    gates = {"finish": threading.Event(), "read": threading.Event()}
    live = serve(gated_app(gates))
    with live.connect() as conn:
        conn.send(request("GET", "/stream"))
        conn.read_head()
        store = live.collect(lambda s: any(x.state == "streaming" for x in s.exchanges.values()))
        (connection,) = store.connections.values()
        store.clear()
        gates["finish"].set()
        conn.read_chunk()
        assert conn.read_chunk()[0] == b""
        again = request("POST", "/echo", body=b"again")
        conn.send(again)
        assert conn.read_response().body == b"again"
        store = live.collect(lambda s: any(x.state == "done" for x in s.exchanges.values()))
    (exchange,) = store.exchanges.values()  # the late events did not bring back /stream
    assert (exchange.method, exchange.path, exchange.bytes_in) == ("POST", "/echo", len(again))
    assert store.connections == {connection.id: connection}
    assert connection.exchanges == [exchange.id]
    assert b"".join(d for _, d in connection.slice("in", exchange.wire_in)).endswith(b"again")


def test_a_reload_is_a_mark_before_the_new_processes_first_exchange_and_output_joins_its_exchange():
    store = Store()
    touched = store.add([ScopeCreated(1, 10, 1, 1, {"type": "http", "path": "/"}, None)])
    touched |= store.add(
        [
            ServerNote(2, 20, 0, "output", "in /", exchange=1),
            ServerNote(3, 30, 0, "output", "no one's"),
            ServerNote(4, 40, 0, "reload", "↻ reloaded: main.py changed", exchange=2),
            ServerNote(5, 50, 0, "reload", "↻ reloaded: main.py changed", exchange=2),
        ]
    )
    assert list(store.exchanges) == [1]  # a note is never an exchange
    assert [e.seq for e in store.exchanges[1].events] == [1, 2]  # its output line, listed
    assert list(store.marks) == [1.5, 1.75]  # two reloads with no exchange between, in order
    assert touched == {1, 1.5, 1.75} and len(store.notes) == 4
