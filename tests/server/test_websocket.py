"""WebSocket behaviour that only asgi-scope's side shows: what the app is told
when it breaks the ASGI WebSocket spec, how the server ends what the app left
open, and what the trace records of it. (The black-box checks shared with
uvicorn are in ``test_conformance.py``.)"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from asgi_scope.server.frames import FrameScanner, unmask
from asgi_scope.server.websocket import ClientDisconnected
from asgi_scope.trace.events import AppRaised, ExchangeEnded, ProtocolError, WebSocketFrame
from asgi_scope.trace.events import ConnectionClosed as ConnectionClosedEvent
from tests.live import TIMEOUT, Live, wait_threading_event
from tests.server import ws_client as wsc


def url(live: Live, path: str = "/ws") -> str:
    return f"ws://127.0.0.1:{live.port}{path}"


class Recording:
    """An app run by a script; what it saw and raised is kept for the test."""

    def __init__(self, script: Any) -> None:
        self.script = script
        self.errors: list[BaseException] = []
        self.received: list[dict[str, Any]] = []
        self.done = threading.Event()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        async def recording_receive() -> dict[str, Any]:
            message = await receive()
            self.received.append(message)
            return message

        try:
            await self.script(scope, recording_receive, send, self)
        finally:
            self.done.set()


def test_send_before_accept_is_a_runtime_error_and_the_client_gets_500(serve):
    async def script(scope, receive, send, app):
        await receive()
        await send({"type": "websocket.send", "text": "too early"})

    live = serve(Recording(script))
    with pytest.raises(InvalidStatus) as info:
        connect(url(live), open_timeout=TIMEOUT)
    assert info.value.response.status_code == 500
    error = live.wait_for(ProtocolError, by="app")
    assert "websocket.accept" in error.detail
    raised = live.wait_for(AppRaised)
    assert raised.exc_type == "RuntimeError"
    assert live.wait_for(ExchangeEnded).status == 500
    exchange = live.collect().exchanges[error.exchange]
    assert exchange.state == "error"


def test_anything_after_close_is_a_runtime_error(serve):
    async def script(scope, receive, send, app):
        await receive()
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.close", "code": 1000})
        for message in ({"type": "websocket.send", "text": "late"}, {"type": "websocket.close"}):
            try:
                await send(message)
            except RuntimeError as exc:
                app.errors.append(exc)

    app = Recording(script)
    live = serve(app)
    with connect(url(live), open_timeout=TIMEOUT) as ws, pytest.raises(ConnectionClosed):
        ws.recv(TIMEOUT)
    assert app.done.wait(TIMEOUT)
    assert [type(e) for e in app.errors] == [RuntimeError, RuntimeError]
    assert "after 'websocket.close'" in str(app.errors[0])
    live.wait_for(ExchangeEnded)
    assert len(live.events(ProtocolError, by="app")) == 2


def test_send_after_the_client_left_raises_an_oserror(serve):
    left = threading.Event()

    async def script(scope, receive, send, app):
        await receive()
        await send({"type": "websocket.accept"})
        assert (await receive())["type"] == "websocket.disconnect"
        await wait_threading_event(left)
        try:
            await send({"type": "websocket.send", "text": "anyone?"})
        except OSError as exc:
            app.errors.append(exc)
        # receive() after the disconnect keeps saying so, it never hangs
        app.received.append(await asyncio.wait_for(receive(), TIMEOUT))

    app = Recording(script)
    live = serve(app)
    with connect(url(live), open_timeout=TIMEOUT) as ws:
        ws.close(1001)
    left.set()
    assert app.done.wait(TIMEOUT)
    assert isinstance(app.errors[0], ClientDisconnected)
    assert [m["type"] for m in app.received[-2:]] == ["websocket.disconnect"] * 2
    assert app.received[-1]["code"] == 1001


def test_app_raising_after_accept_closes_with_1011(serve):
    async def script(scope, receive, send, app):
        await receive()
        await send({"type": "websocket.accept"})
        raise ValueError("broken handler")

    live = serve(Recording(script))
    with connect(url(live), open_timeout=TIMEOUT) as ws:
        with pytest.raises(ConnectionClosed):
            ws.recv(TIMEOUT)
        assert ws.close_code == 1011
    assert live.wait_for(AppRaised).exc_type == "ValueError"
    assert live.wait_for(ExchangeEnded).outcome == "error"


def test_app_returning_after_accept_closes_with_1000(serve):
    async def script(scope, receive, send, app):
        await receive()
        await send({"type": "websocket.accept"})

    live = serve(Recording(script))
    with connect(url(live), open_timeout=TIMEOUT) as ws:
        with pytest.raises(ConnectionClosed):
            ws.recv(TIMEOUT)
        assert ws.close_code == 1000


def test_app_returning_without_answering_the_handshake_is_500(serve):
    async def script(scope, receive, send, app):
        await receive()

    live = serve(Recording(script))
    with pytest.raises(InvalidStatus) as info:
        connect(url(live), open_timeout=TIMEOUT)
    assert info.value.response.status_code == 500
    assert live.wait_for(ExchangeEnded).outcome == "incomplete"


def test_subprotocol_the_client_did_not_offer_is_refused(serve):
    async def script(scope, receive, send, app):
        await receive()
        try:
            await send({"type": "websocket.accept", "subprotocol": "made-up"})
        except RuntimeError as exc:
            app.errors.append(exc)
            await send({"type": "websocket.close"})

    app = Recording(script)
    live = serve(app)
    with pytest.raises(InvalidStatus) as info:
        connect(url(live), subprotocols=["real"], open_timeout=TIMEOUT)
    assert info.value.response.status_code == 403
    assert "not offered" in str(app.errors[0])


def test_server_shutdown_closes_open_websockets_with_1012(serve):
    async def script(scope, receive, send, app):
        await receive()
        await send({"type": "websocket.accept"})
        app.received.append(await receive())

    app = Recording(script)
    live = serve(app)
    with connect(url(live), open_timeout=TIMEOUT) as ws:
        live.stop()
        with pytest.raises(ConnectionClosed):
            ws.recv(TIMEOUT)
        assert ws.close_code == 1012
    assert app.received[-1] == {"type": "websocket.disconnect", "code": 1012, "reason": ""}


def test_frames_sent_before_the_accept_are_kept_for_after_it(serve):
    accept = threading.Event()

    async def script(scope, receive, send, app):
        await receive()
        await wait_threading_event(accept)
        await send({"type": "websocket.accept"})
        app.received.append(await receive())

    app = Recording(script)
    live = serve(app)
    with live.connect() as raw:
        raw.send(wsc.handshake("/ws") + wsc.frame(wsc.TEXT, b"early"))
        accept.set()
        assert raw.read_head()[0] == 101
        assert app.done.wait(TIMEOUT)
    assert app.received[-1] == {"type": "websocket.receive", "text": "early"}
    frames = live.collect(lambda s: any(isinstance(e, WebSocketFrame) for e in s.events))
    frame = next(e for e in frames.events if isinstance(e, WebSocketFrame))
    assert (frame.direction, frame.payload) == ("in", b"early")


def test_large_frame_payload_is_kept_only_up_to_the_cap(serve):
    async def script(scope, receive, send, app):
        await receive()
        await send({"type": "websocket.accept"})
        message = await receive()
        await send({"type": "websocket.send", "bytes": message["bytes"]})
        await receive()

    live = serve(Recording(script))
    payload = bytes(range(256)) * 64  # 16 KiB
    with connect(url(live), open_timeout=TIMEOUT, max_size=None) as ws:
        ws.send(payload)
        assert ws.recv(TIMEOUT) == payload
    live.wait_for(ExchangeEnded)
    frames = [e for e in live.store.events if isinstance(e, WebSocketFrame) and e.opcode == 2]
    assert [f.direction for f in frames] == ["in", "out"]
    for frame in frames:
        assert frame.length == len(payload)
        assert frame.payload == payload[:1024]  # unmasked, cut to the cap


def test_frame_scanner_finds_frames_in_any_split():
    data = b"".join(
        [
            wsc.frame(wsc.TEXT, b"x" * 200),  # 16-bit length
            wsc.frame(wsc.PING, b""),
            wsc.frame(wsc.BINARY, b"y" * 70_000),  # 64-bit length
        ]
    )
    for step in (1, 3, 7, 1000, len(data)):
        scanner = FrameScanner(100, cap=16)
        frames = []
        for i in range(0, len(data), step):
            frames += scanner.feed(data[i : i + step])
        assert [(f[3], f[4], f[5]) for f in frames] == [
            (1, 200, b"x" * 16),
            (9, 0, b""),
            (2, 70_000, b"y" * 16),
        ]
        assert frames[0][0] == 100 and frames[-1][1] == 100 + len(data)
        assert frames[0][1] == frames[1][0] and frames[1][1] == frames[2][0]


def test_unmask_is_xor_with_the_key_repeated():
    key = b"\x01\x02\x03\x04"
    plain = b"hello world"
    masked = bytes(b ^ key[i % 4] for i, b in enumerate(plain))
    assert unmask(masked, key) == plain
    assert unmask(plain, None) == plain


def test_ping_while_the_server_close_is_under_way_is_not_answered(serve):
    """RFC 6455 §5.5.1: after sending a close frame, an endpoint sends no more
    data frames, and it has nothing to answer a ping with; the server waits for
    the client's close instead of failing."""
    release = threading.Event()

    async def script(scope, receive, send, app):
        await receive()
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.close", "code": 4000})
        await wait_threading_event(release)

    live = serve(Recording(script))
    with live.connect() as raw:
        assert wsc.open_socket(raw, "/ws")[0] == 101
        assert wsc.read_frame(raw)[1:] == (wsc.CLOSE, (4000).to_bytes(2, "big"))
        raw.send(wsc.frame(wsc.PING, b"still there?"))
        raw.send(wsc.frame(wsc.CLOSE, wsc.close_payload(4000)))
        assert raw.closed_within(TIMEOUT)
        assert raw.buf == b""  # no pong
    release.set()
    live.wait_for(WebSocketFrame, direction="in", opcode=wsc.CLOSE)
    kinds = [(e.direction, e.opcode) for e in live.events(WebSocketFrame)]
    assert kinds == [("out", wsc.CLOSE), ("in", wsc.PING), ("in", wsc.CLOSE)]


def test_a_client_that_never_answers_the_close_frame_is_dropped_after_timeout_ws_close(serve):
    """RFC 6455 §7.1.1: the server waits ``timeout_ws_close`` seconds for the
    client's close frame, then closes the TCP connection itself."""

    async def script(scope, receive, send, app):
        await receive()
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.close", "code": 4000})

    live = serve(Recording(script), timeout_ws_close=0.3)
    with live.connect() as raw:
        assert wsc.open_socket(raw, "/ws")[0] == 101
        assert wsc.read_frame(raw)[1:] == (wsc.CLOSE, (4000).to_bytes(2, "big"))
        assert raw.closed_within(TIMEOUT)  # the client never answers
    closed = live.wait_for(ConnectionClosedEvent)
    assert (closed.by, closed.reason) == ("server", "no close frame from the client")


def test_send_after_the_server_failed_the_connection_is_an_oserror_not_a_spec_error(serve):
    """The server closing (here 1007, invalid UTF-8) is not the app's
    websocket.close: a later send is a closed connection (OSError), not a
    RuntimeError, and no protocol error is charged to the app."""
    failed = threading.Event()

    async def script(scope, receive, send, app):
        await receive()
        await send({"type": "websocket.accept"})
        app.received.append(await receive())
        await wait_threading_event(failed)
        try:
            await send({"type": "websocket.send", "text": "late"})
        except OSError as exc:
            app.errors.append(exc)

    app = Recording(script)
    live = serve(app)
    with live.connect() as raw:
        assert wsc.open_socket(raw, "/ws")[0] == 101
        raw.send(wsc.frame(wsc.TEXT, b"\xff"))
        assert wsc.read_close(raw)[0] == 1007
    failed.set()
    assert app.done.wait(TIMEOUT)
    assert app.received[-1]["code"] == 1007
    assert isinstance(app.errors[0], ClientDisconnected)
    live.wait_for(ExchangeEnded)
    assert not live.events(ProtocolError, by="app")


def test_flow_control_counts_text_in_utf8_bytes_and_resumes(serve):
    """Reading pauses while more than 64 KiB of messages wait for the app and
    resumes as it catches up; multi-byte text is counted in bytes both ways, so
    a long stream of it never leaves the connection paused."""
    go = threading.Event()

    async def script(scope, receive, send, app):
        await receive()
        await send({"type": "websocket.accept"})
        await wait_threading_event(go)  # let the messages pile up first
        for _ in range(200):
            message = await receive()
            await send({"type": "websocket.send", "text": str(len(message["text"]))})
        await receive()

    live = serve(Recording(script))
    text = "é" * 1000  # 2000 bytes of UTF-8
    with connect(url(live), open_timeout=TIMEOUT) as ws:
        sender = threading.Thread(target=lambda: [ws.send(text) for _ in range(200)])
        sender.start()
        time.sleep(0.3)
        go.set()
        replies = [ws.recv(TIMEOUT) for _ in range(200)]
        sender.join(TIMEOUT)
    assert replies == ["1000"] * 200
