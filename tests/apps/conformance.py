"""The plain-ASGI app the conformance suite serves, under asgi-scope and uvicorn.

The same app runs in both servers (uvicorn loads it by import string in its
own process), so what the app saw is reported back over HTTP: ``GET /seen``
answers the last ``websocket.disconnect`` each WebSocket route (path and query
string) received, as JSON.

HTTP routes (``GET`` unless said):

- ``/echo`` (any method) → 200, the request body, ``x-method``/``x-path`` /
  ``x-raw-path``/``x-query`` headers with what the scope said;
- ``/status/{n}`` → status ``n`` with no body (204, 304, 1xx corners);
- ``/stream`` → three chunks, no Content-Length (chunked on HTTP/1.1);
- ``/state`` → the keys of ``scope["state"]`` the lifespan set, comma-separated;
- ``/slow`` → waits 0.3 s, then 200 (for concurrency limits);
- ``/seen`` → JSON of what WebSocket routes observed.

WebSocket routes:

- ``/ws/echo`` → accept (the first offered subprotocol, if any), echo every
  message as it came (text or bytes) until the client closes;
- ``/ws/scope`` → accept, send the scope's fields as JSON text, close 1000;
- ``/ws/reject`` → ``websocket.close`` before accept (403);
- ``/ws/deny`` → denial response: 401, ``www-authenticate``, body ``no entry``;
- ``/ws/close`` → accept, then close with code 4001 and reason ``bye``;
- ``/ws/wait`` → accept, then record the ``websocket.disconnect`` it gets.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

SEEN: dict[str, Any] = {}
"""What the WebSocket routes observed, served at ``/seen``."""


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The conformance app (ASGI 3)."""
    if scope["type"] == "lifespan":
        await _lifespan(scope, receive, send)
    elif scope["type"] == "http":
        await _http(scope, receive, send)
    else:
        await _websocket(scope, receive, send)


async def _lifespan(scope: dict[str, Any], receive: Any, send: Any) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            scope["state"]["db"] = "connected"
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def _read(receive: Any) -> bytes:
    body = b""
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return body
        body += message.get("body", b"")
        if not message.get("more_body", False):
            return body


async def _respond(send: Any, status: int, body: bytes, headers: list | None = None) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers or []})
    await send({"type": "http.response.body", "body": body})


async def _http(scope: dict[str, Any], receive: Any, send: Any) -> None:
    path = scope["path"]
    body = await _read(receive)
    if path.startswith("/status/"):
        await _respond(send, int(path.rsplit("/", 1)[1]), b"")
    elif path == "/stream":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        for part in (b"one\n", b"two\n", b"three\n"):
            await send({"type": "http.response.body", "body": part, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
    elif path == "/state":
        await _respond(send, 200, ",".join(sorted(scope.get("state", {}))).encode())
    elif path == "/slow":
        await asyncio.sleep(0.3)
        await _respond(send, 200, b"slow")
    elif path == "/seen":
        await _respond(send, 200, json.dumps(SEEN).encode())
    else:
        headers = [
            (b"content-length", str(len(body)).encode()),
            (b"x-method", scope["method"].encode()),
            (b"x-path", scope["path"].encode("utf-8", "backslashreplace")),
            (b"x-raw-path", scope["raw_path"]),
            (b"x-query", scope["query_string"]),
        ]
        await _respond(send, 200, body, headers)


async def _websocket(scope: dict[str, Any], receive: Any, send: Any) -> None:
    path = scope["path"]
    connect = await receive()
    assert connect["type"] == "websocket.connect", connect
    if path == "/ws/reject":
        await send({"type": "websocket.close"})
        return
    if path == "/ws/deny":
        headers = [(b"www-authenticate", b"Basic"), (b"content-length", b"8")]
        await send({"type": "websocket.http.response.start", "status": 401, "headers": headers})
        await send({"type": "websocket.http.response.body", "body": b"no entry"})
        return
    offered = scope.get("subprotocols") or []
    await send({"type": "websocket.accept", "subprotocol": offered[0] if offered else None})
    if path == "/ws/scope":
        fields = {
            key: scope.get(key)
            for key in ("type", "http_version", "scheme", "path", "root_path", "subprotocols")
        }
        fields["raw_path"] = scope["raw_path"].decode("latin-1")
        fields["query_string"] = scope["query_string"].decode("latin-1")
        fields["asgi"] = scope["asgi"]
        fields["client"] = list(scope["client"]) if scope.get("client") else None
        fields["server"] = list(scope["server"]) if scope.get("server") else None
        fields["state"] = sorted(scope.get("state", {}))
        fields["header_names"] = [k.decode("latin-1") for k, _ in scope["headers"]]
        await send({"type": "websocket.send", "text": json.dumps(fields)})
        await send({"type": "websocket.close", "code": 1000})
        return
    if path == "/ws/close":
        await send({"type": "websocket.close", "code": 4001, "reason": "bye"})
        return
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            key = path + ("?" + scope["query_string"].decode() if scope["query_string"] else "")
            SEEN[key] = {"code": int(message["code"]), "reason": message.get("reason", "")}
            return
        if path == "/ws/echo":
            reply = {"type": "websocket.send"}
            if message.get("text") is not None:
                reply["text"] = message["text"]
            else:
                reply["bytes"] = message["bytes"]
            await send(reply)


async def failing_startup(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """An app whose lifespan startup fails with the message ``no database``."""
    assert scope["type"] == "lifespan"
    await receive()
    await send({"type": "lifespan.startup.failed", "message": "no database"})


async def without_lifespan(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """An app that knows only HTTP: it raises on a lifespan scope, as many do."""
    if scope["type"] != "http":
        raise RuntimeError(f"unsupported scope type {scope['type']!r}")
    await _http(scope, receive, send)
