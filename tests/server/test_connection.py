"""Connections: keep-alive, HTTP/1.0, pipelining, the idle timeout, graceful shutdown.

Raw sockets throughout: whether a connection stays open, closes, or carries two
responses back to back is exactly what these tests look at.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from typing import Any

import httpx

from asgi_scope.trace.events import (
    ConnectionClosed,
    ConnectionOpened,
    ExchangeEnded,
    MessageSent,
    ScopeCreated,
    ServerNote,
)
from tests.live import TIMEOUT, read_body, request, respond, wait_until


async def path_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Answers ``you asked for <path>`` with a content-length."""
    await read_body(receive)
    await respond(send, f"you asked for {scope['path']}".encode())


def test_keep_alive_serves_two_requests_on_one_socket(serve):
    live = serve(path_app)
    with live.connect() as conn:
        conn.send(request("GET", "/first"))
        first = conn.read_response()
        conn.send(request("GET", "/second"))
        second = conn.read_response()
        assert conn.quiet_for(0.1), "the connection closed after a keep-alive response"

    assert (first.status, first.body) == (200, b"you asked for /first")
    assert (second.status, second.body) == (200, b"you asked for /second")
    store = live.collect(lambda s: len(s.exchanges) == 2)
    assert len(live.events(ConnectionOpened)) == 1
    (connection,) = store.connections.values()
    assert len(connection.exchanges) == 2
    assert [store.exchanges[x].path for x in connection.exchanges] == ["/first", "/second"]


def test_http10_request_gets_its_response_then_the_connection_closes(serve):
    live = serve(path_app)
    with live.connect() as conn:
        conn.send(request("GET", "/old", version="1.0"))
        response = conn.read_response()
        assert conn.closed_within(TIMEOUT), "HTTP/1.0 connection left open"
        assert conn.buf == b"", "bytes after the response"

    assert response.status == 200
    assert response.framing == "content-length"
    assert response.body == b"you asked for /old"
    closed = live.wait_for(ConnectionClosed)
    assert closed.by == "server"


def test_http10_response_without_content_length_is_close_delimited(serve):
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await read_body(receive)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"part one, ", "more_body": True})
        await send({"type": "http.response.body", "body": b"part two", "more_body": False})

    live = serve(app)
    with live.connect() as conn:
        conn.send(request("GET", "/", version="1.0"))
        response = conn.read_response()

    assert response.status == 200
    assert response.header(b"transfer-encoding") is None
    assert response.header(b"content-length") is None
    assert response.framing == "close"
    assert response.body == b"part one, part two"


def test_pipelined_requests_are_answered_in_order(serve):
    """Two requests in one write: the slow first one is still answered first, and
    the app is not called for the second until the first response is done."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await read_body(receive)
        if scope["path"] == "/slow":
            await asyncio.sleep(0.2)
        await respond(send, scope["path"].encode())

    live = serve(app)
    with live.connect() as conn:
        conn.send(request("GET", "/slow") + request("POST", "/fast", body=b"x" * 10))
        first = conn.read_response()
        second = conn.read_response()

    assert (first.status, first.body) == (200, b"/slow")
    assert (second.status, second.body) == (200, b"/fast")
    live.collect(lambda s: len(live.events(ExchangeEnded)) == 2)
    slow_scope, fast_scope = live.events(ScopeCreated)
    assert [slow_scope.scope["path"], fast_scope.scope["path"]] == ["/slow", "/fast"]
    last_of_slow = live.events(MessageSent, exchange=slow_scope.exchange)[-1]
    assert last_of_slow.message["type"] == "http.response.body"
    assert fast_scope.seq > last_of_slow.seq


def test_idle_keep_alive_connection_is_closed_by_the_server(serve):
    live = serve(path_app, timeout_keep_alive=0.3)
    with live.connect() as conn:
        conn.send(request("GET", "/"))
        assert conn.read_response().status == 200
        done = time.monotonic()
        assert conn.closed_within(TIMEOUT), "idle connection never closed"
        idle = time.monotonic() - done
        assert conn.buf == b""

    assert 0.2 <= idle < 3.0
    closed = live.wait_for(ConnectionClosed)
    assert closed.by == "server"
    assert "keep-alive" in closed.reason


def test_connection_that_never_sends_a_request_times_out_too(serve):
    live = serve(path_app, timeout_keep_alive=0.3)
    with live.connect() as conn:
        assert conn.closed_within(TIMEOUT)
        assert conn.received == b""
    closed = live.wait_for(ConnectionClosed)
    assert (closed.by, "keep-alive" in closed.reason) == ("server", True)


def test_keep_alive_timer_does_not_cut_a_slow_app(serve):
    """The idle timeout runs only between requests, not while the app works."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await read_body(receive)
        await asyncio.sleep(0.6)
        await respond(send, b"worth the wait")

    live = serve(app, timeout_keep_alive=0.2)
    with live.connect() as conn:
        conn.send(request("GET", "/"))
        response = conn.read_response()
    assert (response.status, response.body) == (200, b"worth the wait")


def _refused(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return False
    except ConnectionRefusedError:
        return True


def test_graceful_shutdown_finishes_in_flight_request_and_refuses_new_ones(serve):
    started = threading.Event()

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await read_body(receive)
        if scope["path"] == "/slow":
            started.set()
            await asyncio.sleep(0.5)
        await respond(send, b"finished")

    live = serve(app)
    with live.connect() as busy, live.connect() as idle:
        busy.send(request("GET", "/slow"))
        assert started.wait(TIMEOUT)
        live.thread.source.stop()  # graceful; returns at once

        wait_until(lambda: _refused(live.port), what="new connections to be refused")
        assert idle.closed_within(TIMEOUT), "idle connection kept open while shutting down"
        response = busy.read_response()
        assert (response.status, response.body) == (200, b"finished")
        assert busy.closed_within(TIMEOUT), "connection kept open after shutdown"

    live.stop()
    store = live.collect()
    reasons = [c.reason for c in live.events(ConnectionClosed)]
    assert reasons == ["shutting down", "shutting down"]
    assert [n.text for n in store.notes][-2:] == ["shutting down", "stopped"]
    assert live.events(ExchangeEnded)[0].outcome == "complete"


def test_shutdown_gives_up_on_a_request_after_the_graceful_timeout(serve):
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await read_body(receive)
        await asyncio.sleep(30)

    live = serve(app, timeout_graceful_shutdown=0.2)
    with live.connect() as conn:
        conn.send(request("GET", "/"))
        live.wait_for(ScopeCreated)
        t0 = time.monotonic()
        live.stop()
        assert time.monotonic() - t0 < 3.0
        assert conn.closed_within(TIMEOUT)
    live.collect()
    assert live.events(ServerNote, text="stopped")


def test_httpx_client_reuses_the_connection(serve):
    live = serve(path_app)
    with httpx.Client(base_url=live.url, timeout=TIMEOUT) as client:
        bodies = [client.get(f"/{n}").text for n in range(3)]
    assert bodies == ["you asked for /0", "you asked for /1", "you asked for /2"]
    live.collect(lambda s: len(s.exchanges) == 3)
    assert len(live.events(ConnectionOpened)) == 1


def test_an_exchange_is_freed_when_it_ends_without_the_garbage_collector(serve):
    """A request's cycle and its shim are no reference cycle: each is freed when its
    last reference goes (a loaded server must not wait for the collector). The
    watchdog remembers the 64 cycles started last; none of the others stays."""
    import gc

    from asgi_scope.server.cycle import RequestCycle

    def cycles() -> int:
        return sum(isinstance(o, RequestCycle) for o in gc.get_objects())

    live = serve(path_app)
    gc.collect()
    gc.disable()
    try:
        before = cycles()
        with live.connect() as conn:
            for i in range(200):
                conn.send(request("GET", f"/{i}"))
                assert conn.read_response().status == 200
            alive = cycles() - before
    finally:
        gc.enable()
    assert alive <= 64, f"{alive} request cycles of 200 are still alive"
