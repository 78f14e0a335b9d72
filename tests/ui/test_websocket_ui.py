"""A WebSocket exchange and the lifespan row in the ScopeApp, on real traffic:
the table row (WS, 101, close code), the frames among the messages (direction,
opcode, length, preview, what each became), the Hex highlight of a frame, and
hostile text escaped."""

from __future__ import annotations

import asyncio
from typing import Any

from websockets.sync.client import connect

from asgi_scope.config import Config
from asgi_scope.server.runner import Server
from asgi_scope.session import LoopThread
from asgi_scope.trace.recorder import Recorder
from asgi_scope.ui.app import ScopeApp
from asgi_scope.ui.components.detail.hex_view import HexView
from tests.ui.conftest import screen_text
from tests.ui.test_app import (
    detail_text,
    message_rows,
    select_exchange,
    select_message,
    table_rows,
)
from tests.ui.test_live import until


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        await receive()
        scope["state"]["cache"] = {}
        await send({"type": "lifespan.startup.complete"})
        await receive()
        await send({"type": "lifespan.shutdown.complete"})
        return
    await receive()
    await send({"type": "websocket.accept"})
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            return
        await send({"type": "websocket.send", "text": message.get("text") or "?"})


def talk(url: str) -> None:
    with connect(url.replace("http", "ws") + "/chat", open_timeout=5) as ws:
        ws.send("hi \x1b[2J there")
        ws.recv(5)
        ws.ping(b"p").wait(5)


def test_websocket_exchange_shows_frames_and_what_they_became() -> None:
    recorder = Recorder()
    config = Config(port=0, lifespan="on", timeout_graceful_shutdown=2.0)
    server = LoopThread(Server(config, app, recorder))
    server.start()
    ui = ScopeApp(recorder, app_name="test", url=server.url, on_quit=server.stop)

    async def main() -> None:
        async with ui.run_test(size=(140, 40)) as pilot:
            await asyncio.to_thread(talk, server.url)
            await until(pilot, lambda: any("/chat" in r and "done" in r for r in table_rows(ui)))
            row = next(r for r in table_rows(ui) if "/chat" in r)
            assert "WS" in row and "101 1000" in row
            assert any("lifespan" in r and "state: cache" in r for r in table_rows(ui))
            await pilot.press("m")
            await until(pilot, lambda: any("frame close" in r for r in message_rows(ui)))
            rows = message_rows(ui)
            order = ["websocket.connect", "websocket.accept", "frame text", "websocket.receive"]
            first = [next(i for i, r in enumerate(rows) if kind in r) for kind in order]
            assert first == sorted(first), rows
            ping = next(r for r in rows if "frame ping" in r)
            assert "client ⇢ server" in ping and "pong by the server" in ping
            assert any("frame pong" in r and "client ⇠ server" in r for r in rows)
            await select_message(ui, pilot, "frame text")
            detail = detail_text(ui)
            assert "opcode 1 (text)" in detail
            assert "\\x1b[2J" in detail and "\x1b" not in detail
            assert "became: websocket.receive" in detail
            hex_view = ui.query_one(HexView)
            await pilot.press("x")
            await pilot.pause()
            direction, start, end = hex_view.highlight
            assert direction == "in" and end - start == 6 + len("hi \x1b[2J there")
            assert "\x1b" not in screen_text(ui)

    try:
        asyncio.run(main())
    finally:
        server.stop(5)


def test_fastapi_app_every_exchange_is_a_row() -> None:
    """The FastAPI test app: lifespan state, a FileResponse, a StreamingResponse
    and the WebSocket echo route, each traced and shown."""
    import httpx

    from tests.apps.fastapi_app import app as fastapi_app

    recorder = Recorder()
    config = Config(port=0, lifespan="on", timeout_graceful_shutdown=2.0)
    server = LoopThread(Server(config, fastapi_app, recorder))
    server.start()
    ui = ScopeApp(recorder, app_name="fastapi", url=server.url, on_quit=server.stop)

    def traffic() -> None:
        with httpx.Client(base_url=server.url, timeout=5) as client:
            assert client.get("/state").json()["greeting"] == "hello"
            assert client.get("/file").text.startswith("Hello")
            assert client.get("/stream").text.count("line") == 3
        with connect(server.url.replace("http", "ws") + "/ws/echo", open_timeout=5) as ws:
            ws.send("x")
            assert ws.recv(5) == "echo: x"

    async def main() -> None:
        async with ui.run_test(size=(140, 40)) as pilot:
            await asyncio.to_thread(traffic)
            await until(pilot, lambda: any("/ws/echo" in r and "done" in r for r in table_rows(ui)))
            rows = table_rows(ui)
            assert any("lifespan" in r and "state: greeting, started" in r for r in rows)
            for path in ("/state", "/file", "/stream"):
                assert any(path in r and "200" in r and "done" in r for r in rows), rows
            file_row = next(r for r in rows if "/file" in r)
            await select_exchange(ui, pilot, int(file_row.split()[0]))
            await pilot.press("m")
            await until(pilot, lambda: any("pathsend" in r for r in message_rows(ui)))
            await select_message(ui, pilot, "http.response.pathsend")
            assert "hello.txt" in detail_text(ui)

    try:
        asyncio.run(main())
    finally:
        server.stop(5)
