"""A Starlette WebSocket echo, for the composer and step mode's WebSocket edits.

``/ws`` accepts, then answers each text message ``echo: TEXT`` and each binary
message with its bytes reversed, until the client leaves. ``/`` answers
``200 ws echo``.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect


async def index(request: Request) -> PlainTextResponse:
    return PlainTextResponse("ws echo")


async def echo(websocket: WebSocket) -> None:
    await websocket.accept()
    try:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            if message.get("text") is not None:
                await websocket.send_text(f"echo: {message['text']}")
            else:
                await websocket.send_bytes(bytes(reversed(message.get("bytes") or b"")))
    except WebSocketDisconnect:
        return


app = Starlette(routes=[Route("/", index), WebSocketRoute("/ws", echo)])
