"""Small hand-written ASGI applications for server and importer tests.

- ``app``: ASGI 3, answers every HTTP request ``200 hello asgi3``.
- ``asgi2_app`` (the class ``App``): an ASGI 2 "double callable": ``App(scope)`` builds the
  instance, ``await instance(receive, send)`` runs it. Answers
  ``200 hello asgi2``.
- ``factory()``: returns a new ASGI 3 app answering ``200 hello factory``
  (for ``--factory``).
- ``not_callable``: ``42``, for the importer's "not callable" error.

All of them complete the lifespan protocol (startup, shutdown) and refuse
WebSocket connections by closing before accept.
"""

from __future__ import annotations

from typing import Any


async def _serve(scope: dict[str, Any], receive: Any, send: Any, text: bytes) -> None:
    """Answer an HTTP request with ``text``, or run lifespan, or refuse a WebSocket."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    elif scope["type"] == "websocket":
        await receive()
        await send({"type": "websocket.close", "code": 1000})
    else:
        more_body = True
        while more_body:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            more_body = message.get("more_body", False)
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"text/plain"),
                    (b"content-length", str(len(text)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": text})


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """ASGI 3: ``hello asgi3``."""
    await _serve(scope, receive, send, b"hello asgi3")


class App:
    """ASGI 2: ``App(scope)`` then ``await instance(receive, send)``: ``hello asgi2``."""

    def __init__(self, scope: dict[str, Any]) -> None:
        self.scope = scope

    async def __call__(self, receive: Any, send: Any) -> None:
        await _serve(self.scope, receive, send, b"hello asgi2")


asgi2_app = App


def factory() -> Any:
    """An app factory: returns a fresh ASGI 3 app answering ``hello factory``."""

    async def made(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await _serve(scope, receive, send, b"hello factory")

    return made


not_callable = 42
