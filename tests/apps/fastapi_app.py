"""A FastAPI application written the way a user would write one.

Used by server, UI and end-to-end tests as a realistic APP argument
(``asgi-scope tests.apps.fastapi_app:app``):

- ``GET /`` → ``{"hello": "world"}``
- ``GET /items/{item_id}?q=`` → ``{"item_id": int, "q": str | None}``; 422 if
  ``item_id`` is not an integer
- ``POST /user`` with JSON ``{"name": str, "age": int}`` → the user with
  ``"id": 1``; FastAPI answers 422 on invalid input
- ``GET /stream`` → a ``StreamingResponse`` of three text lines, with short
  awaits between them (so several body messages, chunked on the wire)
- ``GET /boom`` → raises ``RuntimeError("boom")`` (Starlette sends 500, then
  re-raises to the server)
- ``GET /state`` → ``{"greeting": ..., "started": true}``: what the lifespan
  context manager put in the lifespan state, read from ``request.state``
- ``GET /file`` → a ``FileResponse`` of ``tests/apps/hello.txt`` (sent with
  ``http.response.pathsend`` where the server offers it)
- ``WS /ws/echo`` → accepts, answers each text message with ``echo: <text>``
  until the client closes

The app has a lifespan context manager (FastAPI's ``lifespan=``) that yields
the state ``{"greeting": "hello", "started": True}``.

Every HTTP response carries an ``x-process-time`` header (seconds, as a decimal
string) set by a classic ``@app.middleware("http")``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request, Response, WebSocket, WebSocketDisconnect
from fastapi.responses import FileResponse, StreamingResponse
from pydantic import BaseModel

HELLO_FILE = Path(__file__).with_name("hello.txt")
"""The file ``GET /file`` sends."""


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, Any]]:
    """Startup and shutdown; the yielded dict is the lifespan ``state``."""
    yield {"greeting": "hello", "started": True}


app = FastAPI(title="asgi-scope test app", lifespan=lifespan)


class User(BaseModel):
    """The body of ``POST /user``."""

    name: str
    age: int


class CreatedUser(User):
    """The answer of ``POST /user``."""

    id: int


@app.middleware("http")
async def add_process_time_header(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    """Time the request and report it in ``x-process-time`` (seconds)."""
    start = time.perf_counter()
    response = await call_next(request)
    response.headers["x-process-time"] = f"{time.perf_counter() - start:.6f}"
    return response


@app.get("/")
async def read_root() -> dict[str, str]:
    """The classic hello world."""
    return {"hello": "world"}


@app.get("/items/{item_id}")
async def read_item(item_id: int, q: str | None = None) -> dict[str, int | str | None]:
    """A path parameter (validated as int) and an optional query parameter."""
    return {"item_id": item_id, "q": q}


@app.post("/user")
async def create_user(user: User) -> CreatedUser:
    """A JSON body validated by pydantic."""
    return CreatedUser(id=1, **user.model_dump())


async def _lines() -> AsyncIterator[str]:
    for n in range(1, 4):
        yield f"line {n}\n"
        await asyncio.sleep(0.05)


@app.get("/stream")
async def stream() -> StreamingResponse:
    """Three lines, sent as they are produced."""
    return StreamingResponse(_lines(), media_type="text/plain")


@app.get("/boom")
async def boom() -> None:
    """An unhandled exception in an endpoint."""
    raise RuntimeError("boom")


@app.get("/state")
async def state(request: Request) -> dict[str, Any]:
    """The lifespan state, as the request's copy of it."""
    return {"greeting": request.state.greeting, "started": request.state.started}


@app.get("/file")
async def file() -> FileResponse:
    """A file from disk."""
    return FileResponse(HELLO_FILE, media_type="text/plain")


@app.websocket("/ws/echo")
async def websocket_echo(websocket: WebSocket) -> None:
    """Echo text messages back, prefixed, until the client closes."""
    await websocket.accept()
    try:
        while True:
            text = await websocket.receive_text()
            await websocket.send_text(f"echo: {text}")
    except WebSocketDisconnect:
        pass
