"""The app the abuse tests serve (``asgi-scope tests.apps.abuse:app``).

- ``/``: ``ok``;
- ``/hold?s=N``: never reads the body; answers after N seconds (default 60);
- ``/discard``: answers at once without reading the body;
- ``/count``: reads the whole body, answers its length;
- ``/big?size=N``: N bytes in 64 KiB body messages, counting in ``SENT`` what
  each ``send()`` returned from;
- ``/tiny?n=N``: N one-byte body messages;
- ``/stream``: a body message every 10 ms until it hears the client left;
- ``/never``: never answers;
- ``/stats``: ``SENT`` as JSON;
- WebSocket ``/ws?size=N``: counts the messages it receives until one says
  ``flood``, then sends N bytes in 64 KiB messages, counting in ``SENT``.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import parse_qs

SENT = {"big": 0, "ws": 0, "ws_received": 0}
CHUNK = 64 * 1024


def _arg(scope: dict[str, Any], name: str, default: int) -> int:
    return int(parse_qs(scope["query_string"].decode()).get(name, [default])[0])


async def _answer(send: Any, body: bytes, status: int = 200) -> None:
    headers = [(b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def websocket(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await receive()
    await send({"type": "websocket.accept"})
    SENT["ws"] = SENT["ws_received"] = 0
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            return
        if message.get("text") == "flood":
            break
        SENT["ws_received"] += 1
    left = _arg(scope, "size", 1 << 20)
    block = b"w" * CHUNK
    while left > 0:
        await send({"type": "websocket.send", "bytes": block[: min(left, CHUNK)]})
        left -= CHUNK
        SENT["ws"] += CHUNK


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "websocket":
        await websocket(scope, receive, send)
        return
    if scope["type"] != "http":
        return
    path = scope["path"]
    if path == "/hold":
        await asyncio.sleep(_arg(scope, "s", 60))
        await _answer(send, b"held")
    elif path == "/discard":
        await _answer(send, b"not read")
    elif path == "/count":
        size = 0
        while True:
            message = await receive()
            size += len(message.get("body", b""))
            if not message.get("more_body"):
                break
        await _answer(send, str(size).encode())
    elif path == "/big":
        left = _arg(scope, "size", 1 << 20)
        SENT["big"] = 0
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-length", str(left).encode())]})  # fmt: skip
        block = b"x" * CHUNK
        while left > 0:
            part = block[: min(left, CHUNK)]
            left -= len(part)
            await send({"type": "http.response.body", "body": part, "more_body": left > 0})
            SENT["big"] += len(part)
    elif path == "/tiny":
        n = _arg(scope, "n", 10_000)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        for i in range(n):
            await send({"type": "http.response.body", "body": b"t", "more_body": i < n - 1})
    elif path == "/stream":  # as Starlette's StreamingResponse: listens for the disconnect
        gone = asyncio.Event()

        async def listen() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass
            gone.set()

        listener = asyncio.ensure_future(listen())
        await send({"type": "http.response.start", "status": 200, "headers": []})
        for _ in range(6000):
            if gone.is_set():
                return
            await send({"type": "http.response.body", "body": b"tick\n", "more_body": True})
            await asyncio.sleep(0.01)
        listener.cancel()
        await send({"type": "http.response.body", "body": b""})
    elif path == "/never":
        await asyncio.Event().wait()
    elif path == "/stats":
        await _answer(send, json.dumps(SENT).encode())
    else:
        while (await receive()).get("more_body"):
            pass
        await _answer(send, b"ok")
