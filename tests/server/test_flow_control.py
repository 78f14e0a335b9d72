"""One client cannot starve the others: back-pressure on the socket.

A client that floods without reading stops being read (the server's write
buffer over its high-water mark, or the app's queue over its bound), while a
second client is served at once. Real server on 127.0.0.1, real sockets.
"""

from __future__ import annotations

import asyncio
import select
import socket
import time
from typing import Any

from asgi_scope.server.websocket import MESSAGE_OVERHEAD, QUEUE_HIGH_WATER
from tests.live import Live, request, respond
from tests.server.ws_client import PING, TEXT, frame, handshake

MiB = 1 << 20
LIMIT = 32 * MiB
"""Bytes a flooding client may push before the test calls the server unbounded."""

READ_MAX = 256 * 1024
"""asyncio's largest single read: what one ``data_received`` can hand the server."""


def _flood(sock: socket.socket, chunk: bytes, limit: int = LIMIT, stall: float = 1.0) -> int:
    """Send ``chunk`` again and again, never reading, until the server stops
    taking bytes for ``stall`` seconds (return the bytes sent) or ``limit``
    bytes went out (fail: the server kept reading) or 30 s passed."""
    sock.setblocking(False)
    sent = 0
    view = memoryview(chunk)
    pos = 0
    deadline = time.monotonic() + 30
    while sent < limit and time.monotonic() < deadline:
        _, writable, _ = select.select([], [sock], [], stall)
        if not writable:
            return sent
        try:
            n = sock.send(view[pos:])
        except BlockingIOError:
            continue
        sent += n
        pos = (pos + n) % len(chunk)
    raise AssertionError(f"the server kept reading a client that never reads ({sent} bytes)")


def _small_buffers(sock: socket.socket) -> None:
    """A flooding client's own buffers kept small, so its flood stalls early."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 64 * 1024)


def _protocol(live: Live, conn: int) -> Any:
    """The server's connection ``conn`` (its ``HTTPProtocol``)."""
    server = live.thread.source
    return next(p for p in list(server.state.connections) if p.conn == conn)


def _served_promptly(live: Live) -> None:
    with live.connect() as raw:
        raw.send(request("GET", "/"))
        assert raw.read_response().body == b"ok", "a second client was not served"


def test_a_ping_flood_that_never_reads_pongs_stops_being_read(serve):
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "websocket":
            await receive()
            await send({"type": "websocket.accept"})
            while (await receive())["type"] != "websocket.disconnect":
                pass
        else:
            await respond(send, b"ok")

    live = serve(app)
    with live.connect(timeout=10) as raw:
        _small_buffers(raw.sock)
        raw.send(handshake("/ws"))
        assert raw.read_head()[0] == 101
        conn = max(p.conn for p in live.thread.source.state.connections)
        pings = b"".join(frame(PING, b"p" * 125) for _ in range(500))
        sent = _flood(raw.sock, pings)
        protocol = _protocol(live, conn)
        # Every ping read is answered with a pong the client never reads: the
        # pongs wait in the write buffer, which stops the reading past its mark.
        buffered = protocol.transport.get_write_buffer_size()
        assert buffered < 64 * 1024 + READ_MAX, f"{buffered} bytes of pongs held"
        assert protocol.in_offset < sent
        _served_promptly(live)
        raw.sock.setblocking(True)
        assert raw.sock.recv(1 << 16), "the pongs did not flow once the client read"


def test_empty_messages_the_app_never_receives_stop_being_read(serve):
    release = asyncio.Event()

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "websocket":
            await receive()
            await send({"type": "websocket.accept"})
            await release.wait()  # never receives again
        else:
            await respond(send, b"ok")

    live = serve(app)
    with live.connect(timeout=10) as raw:
        _small_buffers(raw.sock)
        raw.send(handshake("/ws"))
        assert raw.read_head()[0] == 101
        conn = max(p.conn for p in live.thread.source.state.connections)
        empties = frame(TEXT, b"") * 10_000
        _flood(raw.sock, empties)
        session = _protocol(live, conn).websocket
        # At most the bound, plus what the one read that crossed it held.
        most = QUEUE_HIGH_WATER // MESSAGE_OVERHEAD + READ_MAX // len(frame(TEXT, b""))
        assert len(session.queue) <= most, f"{len(session.queue)} empty messages queued"
        _served_promptly(live)
