"""The app of the layers benchmark: FastAPI with five pure ASGI middlewares that
pass everything through, and ``GET /`` answering a small JSON document.

With FastAPI's own layers (``ServerErrorMiddleware``, ``ExceptionMiddleware``,
the router, the endpoint...) every request crosses :data:`BOUNDARIES` layer
boundaries besides the server's.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI


class PassThrough:
    """A pure ASGI middleware that calls the next layer unchanged."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)


app = FastAPI()
for _ in range(5):
    app.add_middleware(PassThrough)


@app.get("/")
async def hello() -> dict[str, str]:
    return {"hello": "world"}
