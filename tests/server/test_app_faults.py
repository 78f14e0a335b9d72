"""Faults inside the app: none of them loses the trace of the other exchanges.

Real server on 127.0.0.1, real sockets. Lifespan raising after startup and at
shutdown; an exception in the middle of a streamed body; a WebSocket handler
raising after accept; a stray task of the app calling ``send`` after its
exchange ended; an app blocking the event loop for seconds, which the
watchdog names in a warning (and the TUI notifies).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import threading
import time
from typing import Any

import httpx

from asgi_scope.trace.events import (
    AppRaised,
    ExchangeEnded,
    MessageSent,
    ScopeCreated,
    ServerNote,
)
from tests.live import TIMEOUT, read_body, request, respond, wait_until
from tests.server.ws_client import TEXT, frame, handshake, read_close, read_frame


def exchanges_of(live: Any, path: str) -> list[int]:
    """The exchanges with this path (waiting for one to be recorded)."""

    def of(_: Any = None) -> list[int]:
        return [e.exchange for e in live.events(ScopeCreated) if e.scope.get("path") == path]

    live.collect(of)
    return of()


def ended(live: Any, exchange: int) -> ExchangeEnded:
    return live.wait_for(ExchangeEnded, exchange=exchange)


def test_lifespan_raising_after_startup_and_at_shutdown_keeps_the_requests_trace(serve):
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await receive()
            await send({"type": "lifespan.startup.complete"})
            await receive()  # lifespan.shutdown
            raise RuntimeError("shutdown went wrong")
        await read_body(receive)
        await respond(send, b"fine")

    live = serve(app, lifespan="on")
    assert httpx.get(live.url + "/a", timeout=TIMEOUT).text == "fine"
    live.stop()
    live.collect()
    (exchange,) = exchanges_of(live, "/a")
    assert live.events(ExchangeEnded, exchange=exchange)[0].outcome == "complete"
    raised = live.events(AppRaised)
    assert [e.message for e in raised] == ["shutdown went wrong"]
    assert any(n.level == "error" for n in live.events(ServerNote))


def test_an_exception_mid_stream_closes_that_connection_only(serve):
    release = threading.Event()

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await read_body(receive)
        if scope["path"] == "/stream":
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"part 1\n", "more_body": True})
            await asyncio.to_thread(release.wait, TIMEOUT)
            raise ValueError("broke mid-stream")
        await respond(send, b"other")

    live = serve(app)
    with live.connect() as streaming, live.connect() as other:
        streaming.send(request("GET", "/stream"))
        streaming.read_until(b"part 1\n")
        other.send(request("GET", "/other"))
        assert other.read_response().body == b"other"
        release.set()
        assert streaming.closed_within(TIMEOUT)
        assert not streaming.received.endswith(b"0\r\n\r\n"), "a broken stream looked complete"
        other.send(request("GET", "/after"))
        assert other.read_response().body == b"other"
    (stream,) = exchanges_of(live, "/stream")
    assert ended(live, stream).outcome == "error"
    assert live.wait_for(AppRaised, exchange=stream).message == "broke mid-stream"
    for path in ("/other", "/after"):
        assert ended(live, exchanges_of(live, path)[0]).outcome == "complete"


def test_a_websocket_handler_raising_after_accept_closes_1011_others_unharmed(serve):
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "websocket":
            await receive()
            await send({"type": "websocket.accept"})
            message = await receive()
            if message.get("text") == "boom":
                raise KeyError("handler failed")
            await send({"type": "websocket.send", "text": message.get("text")})
            await receive()
            return
        await read_body(receive)
        await respond(send, b"http")

    live = serve(app)
    with live.connect() as bad, live.connect() as good:
        bad.send(handshake("/bad"))
        good.send(handshake("/good"))
        assert bad.read_head()[0] == 101 and good.read_head()[0] == 101
        bad.send(frame(TEXT, b"boom"))
        assert read_close(bad)[0] == 1011
        good.send(frame(TEXT, b"still here"))
        assert read_frame(good)[2] == b"still here"
    assert httpx.get(live.url + "/", timeout=TIMEOUT).text == "http"
    (bad_x,) = exchanges_of(live, "/bad")
    (good_x,) = exchanges_of(live, "/good")
    assert ended(live, bad_x).outcome == "error"
    assert ended(live, good_x).outcome in ("complete", "disconnect")


def test_send_from_a_stray_task_after_the_exchange_ended_raises_in_the_app(serve):
    """The late send raises RuntimeError in the app's own task, is recorded, and
    does not touch the next exchange on the same keep-alive connection."""
    raised: list[BaseException] = []
    done = threading.Event()

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await read_body(receive)
        if scope["path"] == "/first":

            async def late() -> None:
                await asyncio.sleep(0.1)
                try:
                    await send({"type": "http.response.body", "body": b"LATE"})
                except BaseException as exc:
                    raised.append(exc)
                done.set()

            asyncio.get_running_loop().create_task(late())
            await respond(send, b"first")
            return
        await asyncio.to_thread(done.wait, TIMEOUT)
        await respond(send, b"second")

    live = serve(app)
    with live.connect() as conn:
        conn.send(request("GET", "/first"))
        assert conn.read_response().body == b"first"
        conn.send(request("GET", "/second"))
        assert conn.read_response().body == b"second"
        assert conn.quiet_for(0.1)
        assert b"LATE" not in conn.received
    assert done.is_set() and isinstance(raised[0], RuntimeError), raised
    (first,) = exchanges_of(live, "/first")
    (second,) = exchanges_of(live, "/second")
    assert ended(live, first).outcome == "complete"
    assert ended(live, second).outcome == "complete"
    late = [e for e in live.events(MessageSent, exchange=first) if e.message.get("body") == b"LATE"]
    assert late, "the late send is not in the trace"


def test_an_app_blocking_the_loop_is_named_in_a_warning(serve):
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await read_body(receive)
        if scope["path"] == "/block":
            time.sleep(1.2)  # sync work inside async code: the whole server stops
        await respond(send, b"ok")

    live = serve(app)
    state = live.thread.source.state
    with live.connect() as other:
        other.send(request("GET", "/waiting"))  # answered; its connection stays open
        other.read_response()
        waiting = ended(live, exchanges_of(live, "/waiting")[0])
        # /waiting's task is over, and a watchdog tick since: it is no longer
        # "started or ended since the previous tick"
        wait_until(lambda: not state.tasks, what="the task of /waiting to end")
        wait_until(lambda: not state.started, what="a watchdog tick")
        before = time.monotonic()
        assert httpx.get(live.url + "/block", timeout=TIMEOUT).text == "ok"
        assert time.monotonic() - before >= 1.2
    (block,) = exchanges_of(live, "/block")

    def names_block(_: Any) -> bool:  # a loaded machine may add warnings of its own
        return bool(blocked_notes())

    def blocked_notes() -> list[ServerNote]:
        notes = live.events(ServerNote, level="warning")
        return [n for n in notes if f"#{block} GET /block" in n.text]

    def seconds(note: ServerNote) -> float:
        found = re.search(r"the event loop was blocked for (\d+\.\d) s", note.text)
        assert found, note.text
        return float(found[1])

    live.collect(names_block)
    note = max(blocked_notes(), key=seconds)
    assert seconds(note) >= 1.1, note.text  # the tick was due at most 0.1 s after it began
    assert "/waiting" not in note.text, note.text  # done: not in flight, open or not
    assert ended(live, block).outcome == "complete"
    assert waiting.outcome == "complete"


def test_a_response_start_h11_refuses_is_answered_500_and_recorded(serve):
    from asgi_scope.trace.events import ProtocolError

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        status = 10**5000 if scope["path"] == "/huge" else 99  # outside 100-999
        with contextlib.suppress(RuntimeError):  # the server says no; the app returns
            await send({"type": "http.response.start", "status": status, "headers": []})

    live = serve(app)
    for path in ("/huge", "/small"):
        response = httpx.get(live.url + path, timeout=TIMEOUT)
        assert response.status_code == 500
        assert response.headers["connection"] == "close"
        (exchange,) = exchanges_of(live, path)
        refused = live.wait_for(ProtocolError, exchange=exchange)
        assert (refused.by, refused.status) == ("app", 500)
        assert ended(live, exchange).status == 500
