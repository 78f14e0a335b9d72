"""A plain ASGI app for the export tests (HAR, curl, pytest test, replay).

- ``GET /json?...`` → ``{"path": ..., "query": ...}`` as JSON, with a
  ``set-cookie`` and a ``cache-control`` header
- ``POST /echo`` (any method but GET) → the request body back, as
  ``application/octet-stream``, with ``x-method`` and ``x-headers`` (the
  request's header names, comma-separated)
- ``GET /stream`` → three chunks, chunked on the wire
- ``/ws`` (WebSocket) → accepts, echoes each text or binary message, closes
  when the client does
"""

from __future__ import annotations

import json
from typing import Any


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] == "websocket":
        await _websocket(receive, send)
        return
    body = b""
    more = True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        body += message.get("body", b"")
        more = message.get("more_body", False)
    path = scope["path"]
    if path == "/json":
        payload = json.dumps(
            {"path": path, "query": scope["query_string"].decode("latin-1")}
        ).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"set-cookie", b"session=abc123; Path=/; HttpOnly"),
            (b"cache-control", b"no-store"),
            (b"content-length", str(len(payload)).encode()),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": payload})
    elif path == "/stream":
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"text/plain")],
            }
        )
        for part in (b"one\n", b"two\n", b"three\n"):
            await send({"type": "http.response.body", "body": part, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
    else:
        names = b",".join(name for name, _ in scope["headers"])
        headers = [
            (b"content-type", b"application/octet-stream"),
            (b"x-method", scope["method"].encode()),
            (b"x-headers", names),
            (b"content-length", str(len(body)).encode()),
        ]
        await send({"type": "http.response.start", "status": 201, "headers": headers})
        await send({"type": "http.response.body", "body": body})


async def _websocket(receive: Any, send: Any) -> None:
    message = await receive()
    if message["type"] != "websocket.connect":
        return
    await send({"type": "websocket.accept"})
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            return
        if message.get("text") is not None:
            await send({"type": "websocket.send", "text": message["text"]})
        else:
            await send({"type": "websocket.send", "bytes": message.get("bytes") or b""})
