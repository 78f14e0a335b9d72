"""A FastAPI application with a stack of middleware, for the layer tests.

``asgi-scope tests.apps.layered:app``. Outermost first (as Starlette runs them):
``CORSMiddleware`` (any origin), ``GZipMiddleware`` (bodies of 500 B and more),
``AddHeaderMiddleware`` (a ``BaseHTTPMiddleware`` adding ``x-added-by: timing``),
``ETagMiddleware`` (pure ASGI: holds back every body of a response, then sends
them as one with an ``etag`` header), then the routes:

- ``GET /big`` → JSON of about 2 KB (gzipped when asked)
- ``GET /stream`` → a ``StreamingResponse`` of five chunks, 10 ms apart
  (ETagMiddleware holds them and sends one body)
- ``POST /echo`` → the request body, as it is
- ``GET /boom`` → raises ``ValueError("boom")`` (ServerErrorMiddleware answers 500)
- ``/sub/...`` → a Starlette app mounted under ``/sub`` with a
  ``SessionLikeMiddleware`` adding ``scope["session"]``, and ``GET /sub/hi``

A CORS preflight (``OPTIONS /big`` with ``Origin`` and
``Access-Control-Request-Method``) is answered by CORSMiddleware itself.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import StreamingResponse
from starlette.applications import Starlette
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route


class AddHeaderMiddleware(BaseHTTPMiddleware):
    """Adds ``x-added-by: timing`` to every response."""

    async def dispatch(self, request: Request, call_next: Any) -> Response:
        response = await call_next(request)
        response.headers["x-added-by"] = "timing"
        return response


class ETagMiddleware:
    """Pure ASGI: buffers a whole response body, then sends it as one body with an
    ``etag`` (the body's SHA-1), as an ETag middleware must."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start: dict[str, Any] = {}
        body: list[bytes] = []

        async def buffer(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
                return
            body.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            whole = b"".join(body)
            headers = [
                (k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"
            ]
            headers += [
                (b"content-length", str(len(whole)).encode()),
                (b"etag", f'"{hashlib.sha1(whole).hexdigest()}"'.encode()),
            ]
            await send({**start, "headers": headers})
            await send({"type": "http.response.body", "body": whole})

        await self.app(scope, receive, buffer)


class SessionLikeMiddleware:
    """Pure ASGI: adds ``scope["session"]`` (as Starlette's SessionMiddleware does)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            scope["session"] = {"user": "ada"}
        await self.app(scope, receive, send)


async def hi(request: Request) -> PlainTextResponse:
    return PlainTextResponse(f"hi {request.scope['session']['user']}")


sub = Starlette(routes=[Route("/hi", hi)])
sub.add_middleware(SessionLikeMiddleware)

app = FastAPI()
app.add_middleware(ETagMiddleware)
app.add_middleware(AddHeaderMiddleware)
app.add_middleware(GZipMiddleware, minimum_size=500)
app.add_middleware(CORSMiddleware, allow_origins=["*"], allow_methods=["*"])
app.mount("/sub", sub)


@app.get("/big")
def big() -> dict[str, str]:
    return {"text": "asgi " * 400}


@app.get("/stream")
def stream() -> StreamingResponse:
    async def chunks() -> AsyncIterator[bytes]:
        for i in range(5):
            await asyncio.sleep(0.01)
            yield f"chunk {i}\n".encode()

    return StreamingResponse(chunks(), media_type="text/plain")


@app.post("/echo")
async def echo(request: Request) -> Response:
    return Response(await request.body())


@app.get("/boom")
def boom() -> None:
    raise ValueError("boom")
