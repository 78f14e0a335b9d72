"""The FastAPI app of ``tests/apps/fastapi_app.py`` served for real: what a user
sees through httpx, plus the wire details Starlette depends on."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from websockets.sync.client import connect

from asgi_scope.trace.events import (
    AppRaised,
    ExchangeEnded,
    MessageReceived,
    MessageSent,
    ScopeCreated,
    WebSocketFrame,
)
from tests.live import TIMEOUT, Live, request


@pytest.fixture
def live(serve) -> Live:
    # Imported here, not at collection: tests/cli forgets the tests.apps modules
    # it imports, and an early import of the package would outlive that.
    from tests.apps.fastapi_app import app

    return serve(app, lifespan="auto")


@pytest.fixture
def client(live: Live) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live.url, timeout=TIMEOUT) as client:
        yield client


def test_json_routes(client: httpx.Client):
    assert client.get("/").json() == {"hello": "world"}
    assert client.get("/items/5", params={"q": "x"}).json() == {"item_id": 5, "q": "x"}
    assert client.get("/items/five").status_code == 422
    created = client.post("/user", json={"name": "Ada", "age": 36})
    assert created.json() == {"name": "Ada", "age": 36, "id": 1}
    assert float(created.headers["x-process-time"]) >= 0


def test_streaming_response_arrives_whole_and_chunked(live: Live):
    """Starlette's StreamingResponse (ASGI spec 2.3) listens for http.disconnect
    while it streams; the server must not end the stream early."""
    with live.connect() as conn:
        conn.send(request("GET", "/stream"))
        response = conn.read_response()
    assert response.status == 200
    assert response.framing == "chunked"
    assert response.chunks == [b"line 1\n", b"line 2\n", b"line 3\n"]
    ended = live.wait_for(ExchangeEnded, outcome="complete")
    received = live.events(MessageReceived, exchange=ended.exchange)
    assert [m.message["type"] for m in received] == ["http.request", "http.disconnect"]


def test_unhandled_exception_gives_500_and_is_recorded(live: Live, client: httpx.Client):
    response = client.get("/boom")
    assert response.status_code == 500
    raised = live.wait_for(AppRaised)
    assert (raised.exc_type, raised.message) == ("RuntimeError", "boom")
    assert client.get("/").status_code == 200


def test_lifespan_context_manager_state_reaches_requests(live: Live, client: httpx.Client):
    assert client.get("/state").json() == {"greeting": "hello", "started": True}
    lifespan = live.wait_for(ScopeCreated, conn=0)
    assert lifespan.scope["type"] == "lifespan"
    sent = [e.message["type"] for e in live.events(MessageSent, exchange=lifespan.exchange)]
    assert sent == ["lifespan.startup.complete"]


def test_file_response_is_sent_whole_and_traced(live: Live, client: httpx.Client):
    from tests.apps.fastapi_app import HELLO_FILE

    response = client.get("/file")
    assert response.content == HELLO_FILE.read_bytes()
    assert response.headers["content-length"] == str(HELLO_FILE.stat().st_size)
    ended = live.wait_for(ExchangeEnded, status=200)
    sent = [e.message["type"] for e in live.events(MessageSent, exchange=ended.exchange)]
    assert sent[0] == "http.response.start"
    assert sent[-1] == "http.response.pathsend"  # Starlette uses the extension we offer


def test_websocket_echo_route_is_served_and_traced(live: Live):
    with connect(f"ws://127.0.0.1:{live.port}/ws/echo", open_timeout=TIMEOUT) as ws:
        ws.send("hi")
        assert ws.recv(TIMEOUT) == "echo: hi"
    ended = live.wait_for(ExchangeEnded, status=101)
    assert ended.outcome == "complete"
    assert ended.scope["route"].path == "/ws/echo"  # FastAPI's router added it
    frames = live.events(WebSocketFrame, exchange=ended.exchange)
    assert [(f.direction, f.opcode) for f in frames] == [
        ("in", 1), ("out", 1), ("in", 8), ("out", 8),
    ]  # fmt: skip
