"""Bugs the fuzzers found, each pinned over a real socket.

1. (atheris, ``tests/fuzz/corpus/head-bad-chunk``) The server's own error
   answers to a HEAD request (500 for an app that failed, 400 for bad framing,
   431/414 for a head too long) raised h11's "Too much data for declared
   Content-Length" out of ``data_received`` or the app's task: the client got
   no answer at all (for the 500 the connection hung until the client gave
   up), and the loop logged a fatal error. A HEAD answer has no body (RFC 9110
   §9.3.2).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.live import read_body, respond
from tests.server.ws_client import KEY


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    await read_body(receive)
    if scope["path"] == "/raise":
        raise ValueError("the app failed")
    await respond(send, b"hello")


CASES = {
    "app raises": (b"HEAD /raise HTTP/1.1\r\nHost: x\r\n\r\n", 500),
    "te and cl": (
        b"HEAD / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
        400,
    ),
    "bad chunk": (b"HEAD / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400),
    "head too long": (b"HEAD / HTTP/1.1\r\nHost: x\r\nX: " + b"a" * 20000 + b"\r\n\r\n", 431),
    "target too long": (b"HEAD /" + b"a" * 20000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
    "websocket handshake": (
        b"HEAD /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: " + KEY.encode() + b"\r\nSec-WebSocket-Version: 13\r\n\r\n",
        400,
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_error_answers_to_head_have_no_body_and_are_sent(serve, case):
    data, status = CASES[case]
    live = serve(app)
    errors: list[dict[str, Any]] = []
    live.thread.source.loop.set_exception_handler(lambda _, context: errors.append(context))
    with live.connect(timeout=3) as conn:
        conn.send(data)
        response = conn.read_response(b"HEAD")
        assert response.status == status
        assert conn.closed_within(3)
        assert conn.buf == b"", "a body after the answer to HEAD"
    with live.connect() as conn:  # and the server carries on
        conn.send(b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert conn.read_response(b"HEAD").status == 200
    live.stop()
    assert not errors, errors
