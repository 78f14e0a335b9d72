"""The server's side of the contract, and the extensions our server does not
offer: each rule caught alone, by the checker as a pure state machine (no
sockets, as h11's tests), from a scope or a ``receive()`` message a broken
server would give, or a message only another server would accept. Our own
server raising none of them is :mod:`tests.trace.test_spec`'s no-false-alarms
tests (every scope they serve is checked)."""

from __future__ import annotations

import io
from typing import Any

import pytest

from asgi_scope.trace.rules import RULES
from asgi_scope.trace.spec import check_scope, checker_for

HTTP: dict[str, Any] = {
    "type": "http",
    "asgi": {"version": "3.0", "spec_version": "2.3"},
    "http_version": "1.1",
    "method": "GET",
    "scheme": "http",
    "path": "/a b",
    "raw_path": b"/a%20b",
    "query_string": b"q=1",
    "root_path": "",
    "headers": [(b"host", b"x")],
    "client": ("127.0.0.1", 5000),
    "server": ("127.0.0.1", 8000),
    "state": {},
    "extensions": {"http.response.trailers": {}},
}
WS: dict[str, Any] = {
    **{k: v for k, v in HTTP.items() if k != "method"},
    "type": "websocket",
    "scheme": "ws",
    "subprotocols": ["chat"],
}
LIFESPAN: dict[str, Any] = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"},
                            "state": {}}  # fmt: skip


TLS: dict[str, Any] = {"server_cert": None, "client_cert_chain": ["PEM"], "client_cert_name": None,
                       "client_cert_error": None, "tls_version": 0x0304, "cipher_suite": 0x1301}
"""A TLS extension as the spec describes it (TLS 1.3, TLS_AES_128_GCM_SHA256)."""  # fmt: skip


def _with(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {**base, **changes}


SERVER_CASES: list[tuple[str, Any]] = [
    ("asgi.scope-type", _with(HTTP, type=None)),
    ("asgi.scope-asgi", _with(HTTP, asgi={"spec_version": "2.3"})),
    ("asgi.scope-version", _with(HTTP, asgi={"version": "4.0"})),
    ("asgi.scope-keys", {**HTTP, 1: 2}),
    ("asgi.scope-extensions", _with(HTTP, extensions={"x": True})),
    ("asgi.scope-state", _with(HTTP, state=[1])),
    ("lifespan.scope.state", _with(LIFESPAN, state="x")),
    ("lifespan.scope.spec-version", _with(LIFESPAN, asgi={"version": "3.0", "spec_version": "3"})),
    *[
        (f"{kind}.scope.{what}", _with(base, **change))
        for kind, base in (("http", HTTP), ("websocket", WS))
        for what, change in (
            ("http-version", {"http_version": "HTTP/1.1"}),
            ("scheme", {"scheme": ""}),
            ("scheme-known", {"scheme": "ftp"}),
            ("query-encoded", {"query_string": "q=é".encode()}),
            ("path", {"path": b"/"}),
            ("path-absolute", {"path": "a", "raw_path": b"a"}),
            ("path-decoded", {"path": "/a%20b"}),
            ("raw-path", {"raw_path": "/a%20b"}),
            ("raw-path-query", {"raw_path": b"/a%20b?q=1"}),
            ("query-string", {"query_string": "q=1"}),
            ("root-path", {"root_path": b""}),
            ("headers", {"headers": [(b"host",)]}),
            ("header-lowercase", {"headers": [(b"Host", b"x")]}),
            ("client", {"client": ("127.0.0.1", "5000")}),
            ("server", {"server": "127.0.0.1:8000"}),
            ("spec-version", {"asgi": {"version": "3.0", "spec_version": "9"}}),
        )
    ],
    ("http.scope.method", _with(HTTP, method=b"GET")),
    ("http.scope.method-upper", _with(HTTP, method="get")),
    ("websocket.scope.subprotocols", _with(WS, subprotocols="chat")),
    ("asgi.scope-tls", _with(HTTP, scheme="https", extensions={"tls": {"tls_version": "1.3"}})),
    ("asgi.scope-tls", _with(WS, scheme="wss", extensions={"tls": {"client_cert_chain": "PEM"}})),
    ("asgi.scope-tls-scheme", _with(HTTP, extensions={"tls": TLS})),
]
"""``(rule, scope)``: a scope that breaks only that rule."""


def _received(scope: dict[str, Any], *messages: Any) -> list[str]:
    checker = checker_for(scope)
    assert checker is not None
    found: list[str] = []
    for message in messages:
        found += [rule for rule, _ in checker.received(message) or ()]
    return found


def _sent(scope: dict[str, Any], *messages: Any) -> list[str]:
    checker = checker_for(scope)
    assert checker is not None
    found: list[str] = []
    for message in messages:
        found += [rule for rule, _ in checker.sent(message) or ()]
    return found


START = {"type": "http.response.start", "status": 200, "headers": []}
ALL_HTTP = _with(HTTP, extensions={k: {} for k in (
    "http.response.zerocopysend", "http.response.early_hint", "http.response.push")})  # fmt: skip
DISCONNECT = {"type": "http.disconnect"}

UNIT_CASES: list[tuple[str, Any]] = [
    ("asgi.receive-message", lambda: _received(HTTP, "http.request")),
    ("http.request-type", lambda: _received(HTTP, {"type": "websocket.receive"})),
    ("http.request-body", lambda: _received(HTTP, {"type": "http.request", "body": "x"})),
    ("http.request-more-body", lambda: _received(HTTP, {"type": "http.request", "more_body": 1})),
    ("http.request-after-body",
     lambda: _received(HTTP, {"type": "http.request"}, {"type": "http.request"})),
    ("http.request-after-disconnect",
     lambda: [r for r in _received(HTTP, DISCONNECT, {"type": "http.request"})
              if r != "http.receive-after-disconnect"]),
    ("websocket.receive-type", lambda: _received(WS, {"type": "http.request"})),
    ("websocket.connect-first",
     lambda: _received(WS, {"type": "websocket.receive", "text": "x"})),
    ("websocket.receive-one",
     lambda: _received(WS, {"type": "websocket.connect"}, {"type": "websocket.receive"})),
    ("websocket.receive-types",
     lambda: _received(WS, {"type": "websocket.connect"},
                       {"type": "websocket.receive", "bytes": "x"})),
    ("websocket.disconnect-code",
     lambda: _received(WS, {"type": "websocket.disconnect", "code": "1000"})),
    ("websocket.message-after-disconnect",
     lambda: [r for r in _received(WS, {"type": "websocket.disconnect", "code": 1000},
                                   {"type": "websocket.receive", "text": "x"})
              if r != "websocket.receive-after-disconnect"]),
    ("lifespan.receive-type", lambda: _received(LIFESPAN, {"type": "lifespan.startup"},
                                                {"type": "lifespan.startup"})),
    ("http.zerocopysend-file",
     lambda: _sent(ALL_HTTP, START, {"type": "http.response.zerocopysend", "file": "f"})),
    ("http.zerocopysend-range",
     lambda: _sent(ALL_HTTP, START, {"type": "http.response.zerocopysend",
                                      "file": io.BytesIO(), "offset": -1})),
    ("http.early-hint-links",
     lambda: _sent(ALL_HTTP, {"type": "http.response.early_hint", "links": ["</a>"]})),
    ("http.push-path",
     lambda: _sent(ALL_HTTP, START, {"type": "http.response.push", "path": b"/a"})),
]  # fmt: skip
"""``(rule, check)``: a check that finds only that rule."""


@pytest.mark.parametrize(("rule", "scope"), SERVER_CASES, ids=[c[0] for c in SERVER_CASES])
def test_each_scope_rule_is_caught_alone(rule: str, scope: Any):
    assert [r for r, _ in check_scope(scope) or ()] == [rule]
    assert RULES[rule].side == "server"


@pytest.mark.parametrize(("rule", "check"), UNIT_CASES, ids=[c[0] for c in UNIT_CASES])
def test_each_receive_and_extension_rule_is_caught_alone(rule: str, check: Any):
    assert check() == [rule]


@pytest.mark.parametrize("scope", [
    HTTP, WS, LIFESPAN, _with(HTTP, root_path="/r", path="/r/a b"),
    _with(HTTP, scheme="https", extensions={"tls": TLS}),
    _with(WS, scheme="wss", extensions={"tls": {**TLS, "client_cert_chain": ()}}),
])  # fmt: skip
def test_a_well_formed_scope_breaks_no_rule(scope: dict[str, Any]):
    assert check_scope(scope) is None


@pytest.mark.parametrize("base", [HTTP, WS])
def test_a_scope_without_its_optional_keys_breaks_no_rule(base: dict[str, Any]):
    """``http_version``, ``scheme`` (default ``"ws"`` for a WebSocket, as daphne
    leaves it out), ``root_path``, ``query_string``, ``client``, ``server``,
    ``subprotocols``, ``state`` and ``extensions`` are optional (HTTP & WebSocket 2.5)."""
    optional = ("http_version", "scheme", "root_path", "query_string", "client", "server",
                "subprotocols", "state", "extensions", "raw_path")  # fmt: skip
    assert check_scope({k: v for k, v in base.items() if k not in optional}) is None


def test_well_formed_received_messages_break_no_rule():
    assert _received(HTTP, {"type": "http.request", "body": b"a", "more_body": True},
                     {"type": "http.request", "body": b"b"}, DISCONNECT) == []  # fmt: skip
    assert _received(WS, {"type": "websocket.connect"}, {"type": "websocket.receive", "text": "a"},
                     {"type": "websocket.disconnect", "code": 1000}) == []  # fmt: skip
