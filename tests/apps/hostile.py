"""An app that answers with hostile text, for the terminal-safety tests.

``?name=<corpus name>`` picks a string of :data:`tests.hostile.CORPUS`; the app
puts it in a response header (without the C0 bytes h11 refuses to send), in
the body (followed by invalid UTF-8) and, at ``/raise``, in the message of the
exception it raises. A WebSocket echoes what it receives, then closes with the
hostile text as its reason. ``/``: ``ok``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from tests.hostile import CORPUS, INVALID_UTF8


def _hostile(scope: dict[str, Any]) -> str:
    query = parse_qs(scope["query_string"].decode("latin-1"))
    return CORPUS.get(query.get("name", [""])[0], "")


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        return  # no lifespan support: --lifespan auto carries on
    text = _hostile(scope)
    if scope["type"] == "websocket":
        await receive()  # websocket.connect
        await send({"type": "websocket.accept"})
        while True:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                return
            if message.get("text") == "bye":
                await send({"type": "websocket.close", "code": 4000, "reason": text[:40]})
                return
            await send({k: v for k, v in message.items() if k in ("type", "text", "bytes")}
                       | {"type": "websocket.send"})  # fmt: skip
    while (await receive()).get("more_body"):
        pass
    if scope["path"] == "/raise":
        raise ValueError(f"hostile: {text}")
    header = bytes(b for b in text.encode() if b >= 0x20 and b != 0x7F)[:4000]
    body = text.encode() + INVALID_UTF8 if text else b"ok"
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [
                (b"content-type", b"text/plain"),
                (b"content-length", str(len(body)).encode()),
                (b"x-hostile", header),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
