"""A Starlette app whose bodies need reading: compressed JSON, forms, cookies,
an image and a server-sent event stream (sse-starlette), as real apps send them.

- ``GET /json`` → a JSON document of about 4 KB, gzip'd by Starlette's
  ``GZipMiddleware`` (the client asks with ``accept-encoding: gzip``); it sets a
  ``session`` cookie
- ``POST /form`` → echoes the form fields it got (urlencoded or multipart) as JSON
- ``GET /pixel.png`` → a 3 x 2 PNG
- ``GET /events?n=N&gap=S`` → ``text/event-stream`` (sse-starlette): N events
  named ``tick`` with data ``{"n": i}`` and id ``i``, S seconds apart (default
  forever: a stream the client has to leave)
- ``WS /ws`` → echoes each text message as ``echo: <text>``
"""

from __future__ import annotations

import asyncio
import struct
import zlib

from sse_starlette.sse import EventSourceResponse
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

DOCUMENT = {
    "items": [
        {"id": i, "name": f"item {i}", "tags": ["a", "b"], "price": i * 1.5} for i in range(60)
    ],
    "total": 60,
}


def png(width: int, height: int) -> bytes:
    """A valid RGB PNG of ``width`` x ``height`` black pixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"".join(b"\0" + b"\0\0\0" * width for _ in range(height)))
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


async def document(request: Request) -> JSONResponse:
    response = JSONResponse(DOCUMENT)
    response.set_cookie("session", "abc123", httponly=True, path="/")
    return response


async def form(request: Request) -> JSONResponse:
    async with request.form() as fields:
        return JSONResponse(
            {k: (v if isinstance(v, str) else f"<file {v.filename}>") for k, v in fields.items()}
        )


async def pixel(request: Request) -> Response:
    return Response(png(3, 2), media_type="image/png")


async def events(request: Request) -> EventSourceResponse:
    count = int(request.query_params.get("n", "0")) or None
    gap = float(request.query_params.get("gap", "0.05"))

    async def ticks():
        i = 0
        while count is None or i < count:
            yield {"event": "tick", "data": f'{{"n": {i}}}', "id": str(i)}
            i += 1
            await asyncio.sleep(gap)

    return EventSourceResponse(ticks(), ping=600)


async def echo(websocket: WebSocket) -> None:
    await websocket.accept()
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
        if message.get("text") is not None:
            await websocket.send_text("echo: " + message["text"])
        else:
            await websocket.send_bytes(b"echo: " + (message.get("bytes") or b""))


app = Starlette(
    routes=[
        Route("/json", document),
        Route("/form", form, methods=["POST"]),
        Route("/pixel.png", pixel),
        Route("/events", events),
        WebSocketRoute("/ws", echo),
    ],
    middleware=[Middleware(GZipMiddleware, minimum_size=100)],
)
