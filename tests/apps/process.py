"""An app that does to its process what no app should: for the app-process tests.

- ``GET /`` → 200 ``hello``
- ``GET /exit`` → sends ``http.response.start`` (200), then ``os._exit(7)``
- ``GET /segv`` → reads the request body, then crashes the interpreter
  (``ctypes.string_at(0)``: SIGSEGV)
- ``GET /interrupt`` → raises ``KeyboardInterrupt``; ``GET /sysexit`` → ``SystemExit``
- ``GET /print`` → prints a line with SGR colour and one with OSC 52 (a
  clipboard write), then 200 ``printed``
- ``GET /hang`` → never answers
- ``GET /whoami`` → 200 ``SCHEME CLIENT-HOST ASGI_SCOPE_TEST_VAR`` (the scope's
  scheme and client, and that variable of the app process's environment)
- WebSocket ``/ws`` → accepts and waits for the client
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import sys
from typing import Any


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            else:
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] == "websocket":
        await receive()
        await send({"type": "websocket.accept"})
        while (await receive())["type"] != "websocket.disconnect":
            pass
        return
    path = scope["path"]
    if path == "/exit":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        os._exit(7)
    if path == "/segv":
        await receive()
        ctypes.string_at(0)
    if path == "/interrupt":
        raise KeyboardInterrupt
    if path == "/sysexit":
        sys.exit(5)
    if path == "/hang":
        await asyncio.Event().wait()
    body = b"hello"
    if path == "/whoami":
        client = scope["client"][0] if scope["client"] else "-"
        body = f"{scope['scheme']} {client} {os.environ.get('ASGI_SCOPE_TEST_VAR')}".encode()
    if path == "/print":
        print("\x1b[31mred text\x1b[0m plain")
        print("copy \x1b]52;c;aGVsbG8=\x07 done", file=sys.stderr)
        body = b"printed"
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})
