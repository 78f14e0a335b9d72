"""Responses: framing (Content-Length, chunked, close-delimited), streaming and
HEAD, read byte for byte off a raw socket."""

from __future__ import annotations

import threading
import time
from typing import Any

from asgi_scope.trace.events import BytesSent, ExchangeEnded
from tests.live import TIMEOUT, read_body, request, wait_threading_event


def parts_app(parts: list[bytes], headers: list[tuple[bytes, bytes]] | None = None) -> Any:
    """Sends ``parts`` as separate body messages (the last with more_body false)."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await read_body(receive)
        await send({"type": "http.response.start", "status": 200, "headers": headers or []})
        for n, part in enumerate(parts):
            more = n < len(parts) - 1
            await send({"type": "http.response.body", "body": part, "more_body": more})

    return app


def test_response_with_content_length_is_framed_by_it(serve):
    live = serve(parts_app([b"hel", b"lo"], [(b"content-length", b"5")]))
    with live.connect() as conn:
        conn.send(request("GET", "/"))
        response = conn.read_response()
        assert conn.quiet_for(0.1)  # nothing after the 5 bytes, connection kept

    assert response.framing == "content-length"
    assert response.header(b"transfer-encoding") is None
    assert response.body == b"hello"
    assert response.head.startswith(b"HTTP/1.1 200 OK\r\n")


def test_response_without_content_length_is_chunked_on_http11(serve):
    live = serve(parts_app([b"a", b"bb", b"c" * 20, b""]))
    with live.connect() as conn:
        conn.send(request("GET", "/"))
        response = conn.read_response()

    assert b"\r\nTransfer-Encoding: chunked\r\n" in response.head
    assert response.header(b"content-length") is None
    assert response.body_raw == b"1\r\na\r\n2\r\nbb\r\n14\r\n" + b"c" * 20 + b"\r\n0\r\n\r\n"
    assert response.chunks == [b"a", b"bb", b"c" * 20]


def test_server_adds_server_and_date_headers_unless_the_app_did(serve):
    live = serve(parts_app([b"x"], [(b"content-length", b"1"), (b"Server", b"mine")]))
    with live.connect() as conn:
        conn.send(request("GET", "/"))
        response = conn.read_response()
    names = [name.lower() for name, _ in response.headers]
    assert names.count(b"server") == 1
    assert response.header(b"server") == b"mine"
    assert response.header(b"date") is not None


def test_streamed_chunks_arrive_as_they_are_sent(serve):
    """The first chunk reaches the client while the app is still waiting to send
    the second: nothing is held back until the end."""
    next_chunk = threading.Event()

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await read_body(receive)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"first", "more_body": True})
        await wait_threading_event(next_chunk)
        await send({"type": "http.response.body", "body": b"second", "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    live = serve(app)
    with live.connect() as conn:
        conn.send(request("GET", "/"))
        status, *_ = conn.read_head()
        assert status == 200
        assert conn.read_chunk()[0] == b"first"
        assert conn.quiet_for(0.2), "more bytes before the app sent them"
        next_chunk.set()
        assert conn.read_chunk()[0] == b"second"
        assert conn.read_chunk()[0] == b""

    live.wait_for(ExchangeEnded)
    sent = live.events(BytesSent)
    assert [e.data for e in sent[1:]] == [b"5\r\nfirst\r\n", b"6\r\nsecond\r\n", b"0\r\n\r\n"]
    assert sent[2].t_ns > sent[1].t_ns


def test_head_is_answered_without_a_body_but_with_the_apps_content_length(serve):
    seen: list[str] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await read_body(receive)
        seen.append(scope["method"])
        body = b"eleven byte"
        headers = [(b"content-length", b"11"), (b"content-type", b"text/plain")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    live = serve(app)
    with live.connect() as conn:
        conn.send(request("HEAD", "/") + request("GET", "/"))
        head_response = conn.read_response(method=b"HEAD")
        # If the HEAD response carried a body, the next bytes would not be a
        # status line.
        get_response = conn.read_response()

    assert seen == ["HEAD", "GET"]
    assert head_response.status == 200
    assert head_response.header(b"content-length") == b"11"
    assert head_response.body == b""
    assert get_response.body == b"eleven byte"
    assert conn.received.count(b"eleven byte") == 1


def test_head_without_content_length_from_the_app(serve):
    live = serve(parts_app([b"streamed", b""]))
    with live.connect() as conn:
        conn.send(request("HEAD", "/"))
        response = conn.read_response(method=b"HEAD")
        assert conn.quiet_for(0.2)
    assert response.status == 200
    assert b"streamed" not in conn.received
    live.wait_for(ExchangeEnded, outcome="complete")


def test_response_for_http10_without_content_length_has_no_chunking(serve):
    live = serve(parts_app([b"one ", b"two ", b"three"]))
    with live.connect() as conn:
        conn.send(request("GET", "/", version="1.0"))
        response = conn.read_response()
        assert conn.closed_within(TIMEOUT)
    assert response.framing == "close"
    assert b"chunked" not in response.head.lower()
    assert response.body == b"one two three"


def test_app_send_waits_while_the_client_does_not_read(serve):
    """Write flow control: a client that stops reading makes the app's send()
    wait, instead of the server buffering the whole response in memory."""
    chunk, count = b"z" * (256 * 1024), 128  # 32 MiB in all
    sent_chunks: list[int] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await read_body(receive)
        length = str(len(chunk) * count).encode()
        start = {"type": "http.response.start", "status": 200}
        await send({**start, "headers": [(b"content-length", length)]})
        for n in range(count):
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
            sent_chunks.append(n)
        await send({"type": "http.response.body", "body": b""})

    live = serve(app)
    with live.connect() as conn:
        conn.send(request("GET", "/"))
        # Wait until the app is stuck in send(): the count holds still.
        seen, since = -1, time.monotonic()
        deadline = since + TIMEOUT
        while time.monotonic() < deadline:
            if len(sent_chunks) != seen:
                seen, since = len(sent_chunks), time.monotonic()
            elif time.monotonic() - since > 0.3:
                break
            time.sleep(0.02)
        assert seen < count // 2, f"the app sent {seen} of {count} chunks to a client not reading"
        response = conn.read_response()
    assert len(response.body) == len(chunk) * count
    assert len(sent_chunks) == count
