"""Filter expressions on exchanges a real server recorded: the demo app and the
deliberately broken app, real requests over 127.0.0.1."""

from __future__ import annotations

import httpx
import pytest

from asgi_scope.demo import app as demo_app
from asgi_scope.trace.events import ExchangeEnded
from asgi_scope.trace.filter import HELP, FilterError, parse
from asgi_scope.trace.store import Store
from tests.apps.broken import app as broken_app
from tests.live import TIMEOUT, Live

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


@pytest.fixture(scope="module")
def store() -> Store:
    """One session: the demo's /, POST /echo, /json?x=1, a 404, /error (500),
    /slow?seconds=3, a refused WebSocket, and the broken app's /Upper."""
    from asgi_scope.config import Config
    from tests.conftest import TEST_CONFIG

    sessions = []
    for app in (demo_app, broken_app):
        live = Live(app, Config(**TEST_CONFIG)).start()
        sessions.append(live)
    demo, broken = sessions
    try:
        with httpx.Client(base_url=demo.url, timeout=TIMEOUT) as client:
            client.get("/")
            client.post("/echo", content=b"needle in a haystack", headers={"x-token": "Sesame"})
            client.get("/json", params={"x": "1"}, headers={"traceparent": TRACEPARENT})
            client.get("/nowhere")
            client.get("/error")
            client.get("/slow", params={"seconds": "3"})
            client.get(
                "/ws",
                headers={
                    "upgrade": "websocket",
                    "connection": "upgrade",
                    "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
                    "sec-websocket-version": "13",
                },
            )
        httpx.get(f"{broken.url}/Upper", timeout=TIMEOUT)
        demo.collect(lambda s: sum(isinstance(e, ExchangeEnded) for e in s.events) >= 7)
        broken.collect(lambda s: sum(isinstance(e, ExchangeEnded) for e in s.events) >= 1)
    finally:
        for live in sessions:
            live.stop()
    # One store holding both sessions, as a view would (ids kept apart).
    merged = Store()
    merged.add(demo.store.events)
    offset = max(e.seq for e in demo.store.events)
    merged.add(_renumbered(broken.store.events, offset, 100))
    return merged


def _renumbered(events, seq_offset: int, id_offset: int):
    import dataclasses

    for event in events:
        changes = {"seq": event.seq + seq_offset, "conn": event.conn + id_offset}
        if hasattr(event, "exchange") and event.exchange:
            changes["exchange"] = event.exchange + id_offset
        yield dataclasses.replace(event, **changes)


def matching(store: Store, text: str) -> list[str]:
    """``METHOD path status`` of each exchange the filter keeps."""
    flt = parse(text)
    assert flt is not None
    return [
        f"{x.method or x.kind} {x.path} {x.status}"
        for x in store.exchanges.values()
        if x.kind != "lifespan" and flt(x)
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("~m POST", ["POST /echo 200"]),
        ("~m 'post|GET' & /json", ["GET /json 200"]),
        ("~u 'json\\?x=1$'", ["GET /json 200"]),
        ("~p '/e*'", ["POST /echo 200", "GET /error 500"]),
        ("~c 404", ["GET /nowhere 404"]),
        ("~c 5xx", ["GET /error 500"]),
        ("~c 404-499", ["GET /nowhere 404"]),
        ("~c 400-404", ["GET /nowhere 404", "websocket /ws 403"]),
        ("~t ws", ["websocket /ws 403"]),
        ("~v", ["GET /Upper 200"]),
        ("~e", ["GET /error 500"]),
        ("~hq 'x-token: sesame'", ["POST /echo 200"]),
        ("~hs content-type & ~c 404", ["GET /nowhere 404"]),
        ("~h 'Content-Type: text/plain' & ~v", ["GET /Upper 200"]),
        ("~bq needle", ["POST /echo 200"]),
        ("~bs 'in a hay'", ["POST /echo 200"]),
        ("~b 'Not Found: /nowhere'", ["GET /nowhere 404"]),
        ("~d 2500", ["GET /slow 200"]),  # 3 s: a loaded machine can make a fast one slow
        ("!~c 2xx & !~t lifespan", ["GET /nowhere 404", "GET /error 500", "websocket /ws 403"]),
        ("~c 404 | ~c 500", ["GET /nowhere 404", "GET /error 500"]),
        ("(~m GET | ~m POST) ~p /echo", ["POST /echo 200"]),
        ("nowhere", ["GET /nowhere 404"]),
        ("~tid 4bf92f3577b34da6a3ce929d0e0e4736", ["GET /json 200"]),
        ("~tid 4BF92F", ["GET /json 200"]),
    ],
)
def test_filters_keep_the_exchanges_they_describe(store: Store, text: str, expected: list[str]):
    assert matching(store, text) == expected


def test_tid_finds_an_exchange_by_the_trace_id_it_was_given(store: Store):
    """An exchange without a traceparent has a trace id of its own (the one
    ``--otlp`` sends and the Scope tab shows): ``~tid`` finds it, and only it."""
    from asgi_scope.trace.tracecontext import SESSION

    error = next(x for x in store.exchanges.values() if x.path == "/error")
    own = SESSION.of(error.id, error.scope["headers"]).trace_hex
    assert matching(store, f"~tid {own}") == ["GET /error 500"]


def test_an_empty_filter_is_no_filter():
    assert parse("") is None
    assert parse("   ") is None


@pytest.mark.parametrize(
    ("text", "message", "position"),
    [
        ("~x GET", "unknown filter ~x", 0),
        ("~m", "~m needs a value", 2),
        ("~c abc", "~c takes 404, 4xx or 400-499", 3),
        ("~u '('", "bad regular expression", 3),
        ("~t tcp", "~t takes http, websocket or lifespan", 3),
        ("~d soon", "~d takes milliseconds", 3),
        ("~tid xyz", "~tid takes a trace id in hex", 5),
        ("(~m GET", "missing )", 7),
        ("~m GET )", "unexpected ')'", 7),
        ("~h 'open", "unclosed quote '", 3),
        ("~m GET |", "the filter ends too soon", 8),
        ("!", "the filter ends too soon", 1),
    ],
)
def test_a_filter_that_does_not_parse_says_why_and_where(text: str, message: str, position: int):
    with pytest.raises(FilterError) as info:
        parse(text)
    assert message in str(info.value)
    assert info.value.position == position


def test_every_operator_is_in_the_help():
    from asgi_scope.trace import filter as module

    documented = " ".join(syntax for syntax, _ in HELP) + " " + " ".join(m for _, m in HELP)
    for op in module._OPERATORS:
        assert op in documented, op
