"""Lifespan (ASGI Lifespan spec 2.0) and startup failures."""

from __future__ import annotations

import socket
from typing import Any

import httpx
import pytest

from asgi_scope.config import Config
from asgi_scope.server.runner import Server, StartupError
from asgi_scope.session import LoopThread
from asgi_scope.trace.events import AppRaised, MessageReceived, ScopeCreated, ServerNote
from asgi_scope.trace.recorder import Recorder
from tests.live import TIMEOUT, free_port, read_body, respond


class StatefulApp:
    """Fills ``state`` at startup; each request reports its state keys and then
    adds one of its own (which must not leak into the next request's scope)."""

    def __init__(self) -> None:
        self.lifespan: list[str] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                self.lifespan.append(message["type"])
                if message["type"] == "lifespan.startup":
                    scope["state"]["db"] = "connected"
                    scope["state"]["counter"] = 41
                    await send({"type": "lifespan.startup.complete"})
                else:
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        await read_body(receive)
        state = scope["state"]
        body = ",".join(f"{k}={v}" for k, v in sorted(state.items()))
        state["leaked"] = True
        state["counter"] += 1
        await respond(send, body.encode())


def test_lifespan_state_reaches_each_request_scope_as_a_copy(serve):
    app = StatefulApp()
    live = serve(app, lifespan="auto")
    assert app.lifespan == ["lifespan.startup"]
    with httpx.Client(base_url=live.url, timeout=TIMEOUT) as client:
        first = client.get("/").text
        second = client.get("/").text
    assert first == second == "counter=41,db=connected"

    live.stop()
    assert app.lifespan == ["lifespan.startup", "lifespan.shutdown"]
    store = live.collect()
    lifespan = live.events(ScopeCreated, conn=0)[0]
    assert lifespan.scope["type"] == "lifespan"
    assert lifespan.scope["asgi"] == {"version": "3.0", "spec_version": "2.0"}
    received = [e.message["type"] for e in live.events(MessageReceived, conn=0)]
    assert received == ["lifespan.startup", "lifespan.shutdown"]
    assert any("state keys: db, counter" in n.text for n in store.notes)


def test_app_without_lifespan_support_is_still_served_in_auto_mode(serve):
    calls: list[str] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        calls.append(scope["type"])
        if scope["type"] != "http":
            raise ValueError(f"unsupported scope type {scope['type']!r}")
        await read_body(receive)
        await respond(send, b"served")

    live = serve(app, lifespan="auto")
    response = httpx.get(live.url, timeout=TIMEOUT)
    assert (response.status_code, response.text) == (200, "served")
    live.stop()
    assert calls == ["lifespan", "http"]  # no lifespan.shutdown for an app without it
    live.collect()
    # uvicorn's behaviour: one info line, no error, the traceback on demand (a debug note)
    assert not live.events(AppRaised, conn=0)
    notes = [n for n in live.events(ServerNote) if n.level != "info" or "lifespan" in n.text]
    assert [n.level for n in notes] == ["info", "debug"]
    assert notes[0].text == "ASGI 'lifespan' protocol appears unsupported."
    assert "ValueError: unsupported scope type 'lifespan'" in notes[1].text
    lifespan = next(x for x in live.store.exchanges.values() if x.kind == "lifespan")
    assert lifespan.state == "done" and not lifespan.error and live.store.errors == 0


def test_lifespan_off_never_calls_the_app_with_lifespan(serve):
    calls: list[str] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        calls.append(scope["type"])
        await read_body(receive)
        await respond(send, b"")

    live = serve(app, lifespan="off")
    httpx.get(live.url, timeout=TIMEOUT)
    live.stop()
    assert calls == ["http"]


def start(app: Any, **config: Any) -> LoopThread:
    thread = LoopThread(Server(Config(**config), app, Recorder()))
    thread.start()
    return thread


def assert_nothing_listens(port: int) -> None:
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()


def test_lifespan_startup_failed_is_a_startup_error_and_nothing_listens():
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "lifespan"
        await receive()
        await send({"type": "lifespan.startup.failed", "message": "no database"})

    port = free_port()
    thread = LoopThread(Server(Config(port=port, lifespan="auto"), app, Recorder()))
    with pytest.raises(StartupError) as info:
        thread.start()
    assert info.value.exit_code == 3
    assert "no database" in str(info.value)
    assert not thread._thread.is_alive()
    assert_nothing_listens(port)


def test_lifespan_on_with_an_app_that_raises_is_a_startup_error():
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        raise RuntimeError("lifespan? never heard of it")

    port = free_port()
    with pytest.raises(StartupError) as info:
        start(app, port=port, lifespan="on")
    assert info.value.exit_code == 3
    assert_nothing_listens(port)


def test_port_in_use_is_a_startup_error_after_lifespan_shutdown():
    app = StatefulApp()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(StartupError) as info:
            start(app, port=port, lifespan="auto")
    assert info.value.exit_code == 3
    assert str(port) in str(info.value)
    assert "in use" in str(info.value).lower()
    assert app.lifespan == ["lifespan.startup", "lifespan.shutdown"]
