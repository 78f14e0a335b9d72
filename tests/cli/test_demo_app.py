"""Tests for the built-in demo app, ``asgi_scope.demo.app``.

These test the app, not our server: requests go through httpx's in-process
``ASGITransport``, and where the exact ASGI messages matter (streaming,
lifespan, body in several parts) the app is called directly with list-backed
``receive`` and ``send``.
"""

from __future__ import annotations

import ast
import asyncio
import itertools
import json
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from asgi_scope import demo
from asgi_scope.demo import app


def get(path: str, **kwargs: Any) -> httpx.Response:
    return request("GET", path, **kwargs)


def request(method: str, path: str, **kwargs: Any) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://demo") as client:
            return await client.request(method, path, **kwargs)

    return asyncio.run(go())


def http_scope(method: str, path: str, query: bytes = b"", headers: Any = ()) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query,
        "root_path": "",
        "headers": [(b"host", b"demo"), *headers],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }


def call(scope: dict[str, Any], incoming: list[dict[str, Any]]) -> list[tuple[float, dict]]:
    """Run the demo app once; return ``(monotonic time, message)`` for each message sent."""
    queue = list(incoming)
    sent: list[tuple[float, dict]] = []

    async def receive() -> dict[str, Any]:
        return queue.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append((time.monotonic(), message))

    asyncio.run(app(scope, receive, send))
    return sent


def assert_framed(response: httpx.Response, content_type: str) -> None:
    assert response.headers["content-type"] == content_type
    assert response.headers["content-length"] == str(len(response.content))


# Routes ---------------------------------------------------------------------


def test_index_links_every_route() -> None:
    response = get("/")
    assert response.status_code == 200
    assert_framed(response, "text/html; charset=utf-8")
    for href in (
        "/echo",
        "/stream",
        "/slow?seconds=2",
        "/error",
        "/json?hello=world",
        "/bytes?n=65536",
    ):
        assert f'href="{href}"' in response.text


def test_echo_form() -> None:
    response = get("/echo")
    assert response.status_code == 200
    assert_framed(response, "text/html; charset=utf-8")
    assert '<form method="post" action="/echo"' in response.text


def test_echo_post_returns_body_and_content_type() -> None:
    body = b'{"a": 1, "bytes": "\xc3\xa9"}'
    response = request("POST", "/echo", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 200
    assert response.content == body
    assert_framed(response, "application/json")


def test_echo_post_without_content_type() -> None:
    response = request("POST", "/echo", content=b"\x00\x01raw")
    assert response.content == b"\x00\x01raw"
    assert_framed(response, "application/octet-stream")


def test_echo_reads_every_http_request_message() -> None:
    scope = http_scope("POST", "/echo", headers=[(b"content-type", b"text/plain")])
    sent = call(
        scope,
        [
            {"type": "http.request", "body": b"one ", "more_body": True},
            {"type": "http.request", "body": b"", "more_body": True},
            {"type": "http.request", "body": b"two", "more_body": False},
        ],
    )
    start, body = (message for _, message in sent)
    assert start["status"] == 200
    assert (b"content-type", b"text/plain") in start["headers"]
    assert (b"content-length", b"7") in start["headers"]
    assert body == {"type": "http.response.body", "body": b"one two", "more_body": False}


def test_echo_stops_on_disconnect() -> None:
    sent = call(
        http_scope("POST", "/echo"),
        [
            {"type": "http.request", "body": b"half", "more_body": True},
            {"type": "http.disconnect"},
        ],
    )
    assert sent == []


def test_stream_over_http(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(demo, "STREAM_PAUSE", 0)
    response = get("/stream")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert "content-length" not in response.headers
    assert response.text == "".join(f"chunk {n} of 5\n" for n in range(1, 6))


def test_stream_sends_five_paced_chunks_then_an_empty_last_one() -> None:
    sent = call(http_scope("GET", "/stream"), [{"type": "http.request"}])
    messages = [message for _, message in sent]
    assert messages[0]["type"] == "http.response.start"
    assert all(name != b"content-length" for name, _ in messages[0]["headers"])
    bodies = messages[1:]
    assert [m["type"] for m in bodies] == ["http.response.body"] * 6
    assert [m["more_body"] for m in bodies] == [True] * 5 + [False]
    assert [m["body"] for m in bodies] == [f"chunk {n} of 5\n".encode() for n in range(1, 6)] + [
        b""
    ]
    times = [t for t, _ in sent[1:6]]
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert all(gap >= demo.STREAM_PAUSE * 0.8 for gap in gaps), gaps


def test_slow_waits_then_answers() -> None:
    started = time.monotonic()
    response = get("/slow?seconds=0.2")
    assert time.monotonic() - started >= 0.19
    assert response.status_code == 200
    assert response.text == "Slept 0.2 s.\n"
    assert_framed(response, "text/plain; charset=utf-8")


@pytest.mark.parametrize(
    ("query", "expected"), [(b"", 2.0), (b"seconds=45", 30.0), (b"seconds=0", 0.0)]
)
def test_slow_default_and_cap(
    monkeypatch: pytest.MonkeyPatch, query: bytes, expected: float
) -> None:
    slept: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)

    monkeypatch.setattr(demo.asyncio, "sleep", fake_sleep)
    sent = call(http_scope("GET", "/slow", query), [{"type": "http.request"}])
    assert slept == [expected]
    assert sent[0][1]["status"] == 200
    assert sent[1][1]["body"] == f"Slept {expected:g} s.\n".encode()


@pytest.mark.parametrize("value", ["abc", "-1", "nan", "inf"])
def test_slow_rejects_bad_seconds(value: str) -> None:
    response = get(f"/slow?seconds={value}")
    assert response.status_code == 400
    assert_framed(response, "text/plain; charset=utf-8")


def test_error_raises_before_sending_anything() -> None:
    with pytest.raises(RuntimeError, match="on purpose"):
        get("/error")
    sent: list[tuple[float, dict]] = []
    with pytest.raises(RuntimeError):
        sent = call(http_scope("GET", "/error"), [{"type": "http.request"}])
    assert sent == []


def test_json_echoes_the_scope() -> None:
    response = get("/json?a=1&b=%C3%A9", headers={"x-demo": b"caf\xe9"})
    assert response.status_code == 200
    assert_framed(response, "application/json")
    document = response.json()
    assert document["method"] == "GET"
    assert document["path"] == "/json"
    assert document["query_string"] == "a=1&b=%C3%A9"
    assert ["host", "demo"] in document["headers"]
    # Header bytes are decoded as latin-1: b"caf\xe9" becomes "café".
    assert ["x-demo", "caf\xe9"] in document["headers"]


def test_json_keeps_header_order_and_duplicates() -> None:
    headers = [(b"x-a", b"1"), (b"x-a", b"2")]
    sent = call(http_scope("GET", "/json", b"q", headers), [{"type": "http.request"}])
    document = json.loads(sent[1][1]["body"])
    assert document["headers"] == [["host", "demo"], ["x-a", "1"], ["x-a", "2"]]
    assert document["query_string"] == "q"


def test_bytes_sends_n_bytes() -> None:
    response = get("/bytes?n=65536")
    assert response.status_code == 200
    assert_framed(response, "application/octet-stream")
    assert len(response.content) == 65536
    assert response.content.startswith(b"asgi-scope demo body\n")
    assert get("/bytes?n=65536").content == response.content
    assert len(get("/bytes").content) == demo.BYTES_DEFAULT == 65536
    assert get("/bytes?n=0").content == b""
    assert len(get("/bytes?n=7").content) == 7


@pytest.mark.parametrize(
    "value",
    ["-1", "abc", "1.5", str(16 * 1024 * 1024 + 1), "\u00b2", "\u0663", "1" * 5000, "0" * 10],
)
def test_bytes_rejects_bad_n(value: str) -> None:
    response = get(f"/bytes?n={value}")
    assert response.status_code == 400
    assert_framed(response, "text/plain; charset=utf-8")


def test_unknown_path_is_404() -> None:
    response = get("/nowhere")
    assert response.status_code == 404
    assert response.text == "Not Found: /nowhere\n"
    assert_framed(response, "text/plain; charset=utf-8")


def test_wrong_method_on_known_path_is_405() -> None:
    response = request("DELETE", "/echo")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD, POST"
    assert_framed(response, "text/plain; charset=utf-8")


def test_head_is_answered_by_the_get_route() -> None:
    """RFC 9110 §9.3.2: the head GET would have (the server drops the body)."""
    head, got = request("HEAD", "/stream"), get("/stream")
    assert head.status_code == got.status_code == 200
    assert head.headers["content-type"] == got.headers["content-type"]


# Lifespan and other scopes --------------------------------------------------


def test_lifespan_startup_and_shutdown() -> None:
    state: dict[str, Any] = {}
    before = time.time()
    sent = call(
        {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}, "state": state},
        [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}],
    )
    assert [m for _, m in sent] == [
        {"type": "lifespan.startup.complete"},
        {"type": "lifespan.shutdown.complete"},
    ]
    assert before <= state["started_at"] <= time.time()


def test_lifespan_without_state() -> None:
    sent = call(
        {"type": "lifespan", "asgi": {"version": "3.0"}},
        [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}],
    )
    assert len(sent) == 2


def test_websocket_is_refused() -> None:
    sent = call(
        {"type": "websocket", "asgi": {"version": "3.0"}, "path": "/ws", "headers": []},
        [{"type": "websocket.connect"}],
    )
    assert [m for _, m in sent] == [{"type": "websocket.close", "code": 1000}]


def test_demo_imports_only_the_standard_library() -> None:
    tree = ast.parse(Path(demo.__file__).read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0 and node.module is not None
            names.add(node.module.split(".")[0])
    assert names <= set(sys.stdlib_module_names) | {"__future__"}, names
