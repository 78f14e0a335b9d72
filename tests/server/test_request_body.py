"""Request bodies: ``http.request`` messages, flow control, ``100 Continue`` and
``http.disconnect``, checked against the messages the app actually received."""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx

from asgi_scope.trace.events import BytesReceived, BytesSent, ConnectionClosed, ExchangeEnded
from tests.live import (
    TIMEOUT,
    read_body,
    request,
    respond,
    wait_threading_event,
    wait_until,
)


def recording_echo(received: list[dict[str, Any]]) -> Any:
    """An app that keeps every message it receives and echoes the body back."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        body = await read_body(receive, into=received)
        await respond(send, body)

    return app


def assert_body_messages(received: list[dict[str, Any]], payload: bytes) -> None:
    assert received, "the app received nothing"
    assert {m["type"] for m in received} == {"http.request"}
    assert [m["more_body"] for m in received] == [True] * (len(received) - 1) + [False]
    assert all(isinstance(m["body"], bytes) for m in received)
    assert b"".join(m["body"] for m in received) == payload


def test_content_length_body_arrives_in_http_request_messages(serve):
    received: list[dict[str, Any]] = []
    live = serve(recording_echo(received))
    payload = bytes(range(256)) * 40  # 10 KiB, every byte value
    head = request("POST", "/upload", body=payload)[: -len(payload)]
    with live.connect() as conn:
        conn.send(head + payload[:3000])
        wait_until(lambda: received, what="the first part of the body to reach the app")
        conn.send(payload[3000:])
        response = conn.read_response()

    assert (response.status, response.body) == (200, payload)
    assert len(received) >= 2
    assert received[0]["more_body"] is True
    assert_body_messages(received, payload)


def test_chunked_body_arrives_unframed_in_http_request_messages(serve):
    received: list[dict[str, Any]] = []
    live = serve(recording_echo(received))
    parts = [b"hello, ", b"chunked ", b"world" * 1000]
    with live.connect() as conn:
        conn.send(request("POST", "/", [("Transfer-Encoding", "chunked")]))
        for n, part in enumerate(parts):
            conn.send(b"%x\r\n%s\r\n" % (len(part), part))
            wait_until(lambda n=n: len(received) > n, what=f"chunk {n} to reach the app")
        conn.send(b"0\r\n\r\n")
        response = conn.read_response()

    assert (response.status, response.body) == (200, b"".join(parts))
    assert [m["body"] for m in received[: len(parts)]] == parts
    assert_body_messages(received, b"".join(parts))


def test_request_without_body_gets_one_empty_message(serve):
    received: list[dict[str, Any]] = []
    live = serve(recording_echo(received))
    assert httpx.get(live.url, timeout=TIMEOUT).status_code == 200
    assert received == [{"type": "http.request", "body": b"", "more_body": False}]


def test_server_stops_reading_while_the_app_does_not_receive(serve):
    """Flow control: with an 8 MiB upload and an app that has not called
    receive(), the server reads only about its 64 KiB buffer (plus one socket
    read) and leaves the rest in the kernel, pushing back on the client."""
    may_read = threading.Event()
    total = 8 * 1024 * 1024

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await wait_threading_event(may_read, 2 * TIMEOUT)
        body = await read_body(receive)
        await respond(send, str(len(body)).encode())

    live = serve(app)
    conn = live.connect(timeout=2 * TIMEOUT)
    upload = request("POST", "/", body=b"u" * total)
    sender = threading.Thread(target=conn.send, args=(upload,), daemon=True)
    try:
        sender.start()

        def read_so_far() -> int:
            live.collect()
            return sum(e.size for e in live.events(BytesReceived))

        # Wait until the server has stopped reading: the count holds still.
        seen, still_since = -1, time.monotonic()
        deadline = still_since + TIMEOUT
        while time.monotonic() < deadline:
            now = read_so_far()
            if now != seen:
                seen, still_since = now, time.monotonic()
            elif time.monotonic() - still_since > 0.3:
                break
            time.sleep(0.02)
        assert 0 < seen < 1024 * 1024, f"server read {seen} bytes ahead of the app"
        assert sender.is_alive(), "the whole upload was accepted without the app reading"
    finally:
        may_read.set()
    sender.join(2 * TIMEOUT)
    assert not sender.is_alive()
    response = conn.read_response()
    conn.close()
    assert (response.status, response.body) == (200, str(total).encode())
    assert read_so_far() == len(upload)


def test_100_continue_is_sent_only_when_the_app_receives(serve):
    may_read = threading.Event()

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await wait_threading_event(may_read)
        await respond(send, await read_body(receive))

    live = serve(app)
    with live.connect() as conn:
        conn.send(request("POST", "/", [("Expect", "100-continue"), ("Content-Length", "5")]))
        assert conn.quiet_for(0.3), "100 Continue sent before the app called receive()"
        may_read.set()
        interim = conn.read_response()
        assert (interim.status, interim.reason) == (100, b"Continue")
        conn.send(b"hello")
        response = conn.read_response()

    assert (response.status, response.body) == (200, b"hello")
    continue_bytes = live.wait_for(BytesSent, offset=0)
    assert continue_bytes.data.startswith(b"HTTP/1.1 100 ")
    assert continue_bytes.cause == 0  # the server's own bytes, not an app message


def test_no_100_continue_when_the_app_answers_without_reading(serve):
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await respond(send, b"too big", status=413)

    live = serve(app)
    with live.connect() as conn:
        conn.send(request("POST", "/", [("Expect", "100-continue"), ("Content-Length", "10")]))
        response = conn.read_response()
        assert (response.status, response.body) == (413, b"too big")
        assert b"100 Continue" not in conn.received
        # RFC 9110 §10.1.1: the client may send the body or not, so the stream
        # cannot be trusted for another request; the server says it closes.
        assert b"connection: close" in conn.received.lower()
        assert conn.closed_within(TIMEOUT)


def test_client_going_away_mid_body_gives_the_app_http_disconnect(serve):
    received: list[dict[str, Any]] = []
    finished = threading.Event()

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            received.append(message)
            if message["type"] == "http.disconnect":
                break
        finished.set()

    live = serve(app)
    conn = live.connect()
    conn.send(request("POST", "/", [("Content-Length", "100")]) + b"0123456789")
    wait_until(lambda: received, what="the first body part")
    conn.close()
    assert finished.wait(TIMEOUT), "the app never got http.disconnect"

    assert received[0] == {"type": "http.request", "body": b"0123456789", "more_body": True}
    assert received[-1] == {"type": "http.disconnect"}
    assert len(received) == 2
    ended = live.wait_for(ExchangeEnded)
    assert (ended.outcome, ended.status) == ("disconnect", 0)
    assert live.wait_for(ConnectionClosed).by == "client"


def test_receive_after_the_whole_body_waits_for_disconnect(serve):
    """After the last ``http.request``, receive() blocks until the client goes
    away (or the response is sent) and then says ``http.disconnect``; it does not
    hand out the empty body again (Starlette's listen_for_disconnect relies on it)."""
    received: list[dict[str, Any]] = []
    finished = threading.Event()

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await read_body(receive, into=received)
        received.append(await receive())
        finished.set()

    live = serve(app)
    conn = live.connect()
    conn.send(request("POST", "/", body=b"all of it"))
    wait_until(lambda: received, what="the body")
    assert not finished.wait(0.3), f"receive() returned early: {received}"
    conn.close()
    assert finished.wait(TIMEOUT)
    assert received == [
        {"type": "http.request", "body": b"all of it", "more_body": False},
        {"type": "http.disconnect"},
    ]


def test_receive_after_the_response_is_sent_says_disconnect(serve):
    after: list[dict[str, Any]] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await read_body(receive)
        await respond(send, b"done")
        after.append(await receive())

    live = serve(app)
    with httpx.Client(base_url=live.url, timeout=TIMEOUT) as client:
        assert client.get("/").text == "done"
        live.wait_for(ExchangeEnded)
        assert client.get("/").text == "done"  # the connection is still usable
    assert after[0] == {"type": "http.disconnect"}


def test_a_body_left_unfinished_after_an_early_answer_times_out_as_idle(serve):
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await respond(send, b"too big", status=413)

    live = serve(app, timeout_keep_alive=0.3)
    with live.connect() as conn:
        conn.send(request("POST", "/", [("Content-Length", "100")]) + b"0123456789")
        assert conn.read_response().status == 413
        # The client never sends the other 90 bytes: the idle timeout ends it.
        assert conn.closed_within(TIMEOUT)
    closed = live.wait_for(ConnectionClosed)
    assert (closed.by, closed.reason) == ("server", "keep-alive timeout")


def test_the_rest_of_a_body_is_dropped_and_the_next_request_served(serve):
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await respond(send, scope["path"].encode(), status=200)

    live = serve(app)
    with live.connect() as conn:
        conn.send(request("POST", "/early", [("Content-Length", "10")]) + b"01234")
        assert conn.read_response().body == b"/early"
        conn.send(b"56789" + request("GET", "/next"))
        assert conn.read_response().body == b"/next"
