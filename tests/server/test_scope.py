"""The HTTP connection scope the app is called with (ASGI HTTP spec 2.3,
"Connection Scope"), built from real requests."""

from __future__ import annotations

import copy
from typing import Any

from asgi_scope.trace.events import ScopeCreated
from tests.live import Live, read_body, request, respond


def scope_keeper(scopes: list[dict[str, Any]]) -> Any:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        scopes.append(copy.deepcopy(scope))
        await read_body(receive)
        await respond(send, b"ok")

    return app


def scope_of(live: Live, raw: bytes, scopes: list[dict[str, Any]]) -> dict[str, Any]:
    with live.connect() as conn:
        conn.send(raw)
        assert conn.read_response().status == 200
        client = conn.sock.getsockname()
    scope = scopes[-1]
    assert scope["client"] == (client[0], client[1])
    return scope


def test_scope_fields_follow_the_asgi_http_spec(serve):
    scopes: list[dict[str, Any]] = []
    live = serve(scope_keeper(scopes))
    raw = (
        b"GET /caf%C3%A9/a%2Fb?x=1&y=%20z&x=2 HTTP/1.1\r\n"
        b"Host: example.test\r\n"
        b"X-Dup: one\r\n"
        b"Accept: */*\r\n"
        b"X-Dup: two\r\n"
        b"X-Mixed-CASE: Value Kept\r\n"
        b"\r\n"
    )
    scope = scope_of(live, raw, scopes)

    assert scope["type"] == "http"
    assert scope["asgi"] == {"version": "3.0", "spec_version": "2.3"}
    assert scope["http_version"] == "1.1"
    assert scope["method"] == "GET"
    assert scope["scheme"] == "http"
    assert scope["path"] == "/café/a/b"  # percent-decoded, UTF-8
    assert scope["raw_path"] == b"/caf%C3%A9/a%2Fb"  # as sent, no query
    assert scope["query_string"] == b"x=1&y=%20z&x=2"  # undecoded
    assert scope["root_path"] == ""
    assert scope["headers"] == [
        (b"host", b"example.test"),
        (b"x-dup", b"one"),
        (b"accept", b"*/*"),
        (b"x-dup", b"two"),
        (b"x-mixed-case", b"Value Kept"),
    ]
    assert all(type(n) is bytes and type(v) is bytes for n, v in scope["headers"])
    assert scope["server"] == ("127.0.0.1", live.port)
    assert isinstance(scope["client"][1], int)
    assert scope["state"] == {}
    assert set(scope) == {
        "type",
        "asgi",
        "http_version",
        "method",
        "scheme",
        "path",
        "raw_path",
        "query_string",
        "root_path",
        "headers",
        "client",
        "server",
        "state",
        "extensions",
    }
    # The trace holds the same scope the app was called with.
    assert live.wait_for(ScopeCreated).scope == scope


def test_scope_for_http10_and_other_methods(serve):
    scopes: list[dict[str, Any]] = []
    live = serve(scope_keeper(scopes))
    scope = scope_of(live, request("PATCH", "/x", version="1.0", body=b"{}"), scopes)
    assert (scope["http_version"], scope["method"], scope["path"]) == ("1.0", "PATCH", "/x")
    assert scope["query_string"] == b""


def test_root_path_prefixes_path_and_raw_path_as_uvicorn_does(serve):
    scopes: list[dict[str, Any]] = []
    live = serve(scope_keeper(scopes), root_path="/api")
    scope = scope_of(live, request("GET", "/caf%C3%A9?q=1"), scopes)
    assert scope["root_path"] == "/api"
    assert scope["path"] == "/api/café"
    assert scope["raw_path"] == b"/api/caf%C3%A9"
    assert scope["query_string"] == b"q=1"


def test_each_request_gets_its_own_scope_and_headers(serve):
    scopes: list[dict[str, Any]] = []
    live = serve(scope_keeper(scopes))
    with live.connect() as conn:
        conn.send(request("GET", "/1", [("X-N", "1")]) + request("GET", "/2", [("X-N", "2")]))
        conn.read_response()
        conn.read_response()
    assert [s["path"] for s in scopes] == ["/1", "/2"]
    assert [dict(s["headers"])[b"x-n"] for s in scopes] == [b"1", b"2"]
    assert scopes[0]["client"] == scopes[1]["client"]
