"""The spec checker against a real server: a catalogue of broken apps, one per rule.

Each case is a small ASGI app that breaks exactly one rule of
:data:`asgi_scope.trace.spec.RULES`, served by a real asgi-scope server on
127.0.0.1 and driven by a real client (raw sockets, so the framing the server
answers with can be read too). Each must produce exactly that rule's
``SpecViolation``, next to the message that broke it, and nothing else; the
well-behaved apps (the demo, Starlette, FastAPI) must produce none.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from asgi_scope.trace.events import (
    ExchangeEnded,
    MessageReceived,
    MessageSent,
    ScopeCreated,
    SpecViolation,
)
from asgi_scope.trace.rules import COUNTED, RULES
from asgi_scope.trace.spec import check_scope, checker_for
from tests.live import TIMEOUT, Live
from tests.server.ws_client import CLOSE, close_payload, frame, open_socket

ERR = "500|closed"
"""The server refused the message: a 500 if nothing was sent yet, or a closed connection."""

START = {"type": "http.response.start", "status": 200, "headers": []}
BODY = {"type": "http.response.body", "body": b"ok"}


def sender(*messages: Any, read: bool = True) -> Callable[..., Any]:
    """An HTTP app that reads the request, then sends ``messages`` in order."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        if read:
            while (await receive()).get("more_body"):
                pass
        for message in messages:
            await send(message)

    return app


def ws_sender(*messages: Any) -> Callable[..., Any]:
    """A WebSocket app that takes websocket.connect, then sends ``messages``."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "websocket"
        assert (await receive())["type"] == "websocket.connect"
        for message in messages:
            await send(message)

    return app


async def receive_after_disconnect(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await receive()
    await send(START)
    await send(BODY)
    assert (await receive())["type"] == "http.disconnect"
    await receive()  # the violation: the exchange is over


async def ws_receive_after_disconnect(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await receive()
    await send({"type": "websocket.accept"})
    while (await receive())["type"] != "websocket.disconnect":
        pass
    await receive()


async def send_after_disconnect(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await receive()
    assert (await receive())["type"] == "http.disconnect"  # the client hung up
    await send(START)  # nobody to read it


async def ws_send_after_disconnect(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await receive()
    await send({"type": "websocket.accept"})
    while (await receive())["type"] != "websocket.disconnect":
        pass
    await send({"type": "websocket.send", "text": "too late"})


async def lifespan_returns(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        await receive()  # lifespan.startup, never answered
        return
    await receive()
    await send(START)
    await send(BODY)


async def lifespan_int_state_key(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        await receive()
        scope["state"][1] = "one"
        await send({"type": "lifespan.startup.complete"})
        await receive()
        await send({"type": "lifespan.shutdown.complete"})
        return
    await receive()
    await send(START)
    await send(BODY)


async def ws_no_answer(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await receive()  # websocket.connect, never answered


def lifespan(startup: list[dict[str, Any]], shutdown: list[dict[str, Any]]) -> Callable[..., Any]:
    """A lifespan app answering startup and shutdown with the given messages."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "lifespan":
            await receive()
            await send(START)
            await send(BODY)
            return
        await receive()
        for message in startup:
            await send(message)
        await receive()
        for message in shutdown:
            await send(message)

    return app


STARTUP_OK = [{"type": "lifespan.startup.complete"}]
SHUTDOWN_OK = [{"type": "lifespan.shutdown.complete"}]


@dataclass
class Case:
    rule: str
    app: Callable[..., Any]
    kind: str = "http"  # what the client does: "http", "websocket", "websocket-close", "lifespan"
    answer: str = ""  # what the client must get: "500", "closed", "200", "403" ("": anything)


def _start(**changes: Any) -> dict[str, Any]:
    return {**START, **changes}


CASES = [
    # every protocol
    Case("asgi.message-dict", sender("http.response.start"), answer="500"),
    Case("asgi.message-dict", sender(m for m in [START]), answer="500"),
    Case("asgi.message-type", sender({"status": 200}), answer="500"),
    Case("asgi.unknown-type", sender({"type": "websocket.accept"}), answer="500"),
    Case(
        "asgi.extension-offered",
        sender(START, {"type": "http.response.zerocopysend", "file": None}),
        answer="closed",
    ),
    # HTTP
    Case("http.start-first", sender(BODY), answer="500"),
    Case("http.start-once", sender(START, START), answer="closed"),
    Case("http.status-int", sender(_start(status="200"), BODY), answer=ERR),
    Case("http.status-int", sender(_start(status={"code": 200}), BODY), answer=ERR),
    Case("http.status-range", sender(_start(status=99), BODY), answer=ERR),
    Case(
        "http.headers-shape",
        sender(_start(headers=[("content-type", "text/plain")]), BODY),
        answer=ERR,
    ),
    Case("http.headers-shape", sender(_start(headers=b"content-type"), BODY), answer=ERR),
    Case(
        "http.header-lowercase",
        sender(_start(headers=[(b"Content-Type", b"text/plain")]), BODY),
        answer="200",
    ),
    Case("http.header-pseudo", sender(_start(headers=[(b":status", b"200")]), BODY), answer=ERR),
    Case(
        "http.flag-bool",
        sender(START, {"type": "http.response.body", "body": b"a", "more_body": "no"}),
    ),
    Case("http.body-bytes", sender(START, {"type": "http.response.body", "body": "hello"})),
    Case(
        "http.body-bytes",
        sender(START, {"type": "http.response.body", "body": (b for b in [b"x"])}),
        answer="closed",
    ),
    Case("http.after-complete", sender(START, BODY, BODY), answer="200"),
    Case(
        "http.content-length",
        sender(_start(headers=[(b"content-length", b"10")]), BODY),
        answer="closed",
    ),
    Case(
        "http.content-length",
        sender(_start(headers=[(b"content-length", b"1")]), BODY),
        answer="closed",
    ),
    Case(
        "http.trailers-order",
        sender(_start(trailers=True), {"type": "http.response.trailers", "headers": []}),
        answer="closed",
    ),
    Case(
        "http.pathsend-path",
        sender(START, {"type": "http.response.pathsend", "path": 42}),
        answer="closed",
    ),
    Case("http.incomplete", sender(START), answer="closed"),
    Case("http.incomplete", sender(), answer="500"),
    Case("http.receive-after-disconnect", receive_after_disconnect, answer="200"),
    Case("http.status-informational", sender(_start(status=103), BODY)),
    Case("http.header-name-token", sender(_start(headers=[(b"bad name", b"x")]), BODY)),
    Case("http.header-value-chars", sender(_start(headers=[(b"x-a", b"a\r\nb")]), BODY)),
    Case("http.content-length-value", sender(_start(headers=[(b"content-length", b"x")]), BODY)),
    Case(
        "http.content-length-once",
        sender(_start(headers=[(b"content-length", b"2"), (b"content-length", b"3")]), BODY),
    ),
    Case(
        "http.content-length-forbidden",
        sender(
            _start(status=204, headers=[(b"content-length", b"0")]), {"type": "http.response.body"}
        ),
    ),
    Case(
        "http.transfer-encoding-length",
        sender(
            _start(headers=[(b"transfer-encoding", b"chunked"), (b"content-length", b"2")]), BODY
        ),
    ),
    Case("http.no-content-body", sender(_start(status=204), BODY)),
    Case("http.send-after-disconnect", send_after_disconnect, "http-hangup"),
    Case(
        "http.tiny-body-messages",
        sender(
            START, *[{"type": "http.response.body", "body": b"x", "more_body": True}] * 100, BODY
        ),
        answer="200",
    ),
    Case("asgi.key-str", sender({**START, 1: 2}, BODY)),
    Case("asgi.float-finite", sender({**START, "x": float("nan")}, BODY)),
    Case("asgi.int-64bit", sender({**START, "x": 2**70}, BODY)),
    Case("asgi.value-type", sender({**START, "x": {1, 2}}, BODY)),
    Case(
        "asgi.bytes-exact", sender(START, {"type": "http.response.body", "body": bytearray(b"ok")})
    ),
    # extensions
    Case(
        "http.trailers-forbidden",
        sender(
            _start(trailers=True),
            BODY,
            {"type": "http.response.trailers", "headers": [(b"content-length", b"2")]},
        ),
    ),
    Case("http.pathsend-absolute", sender(START, {"type": "http.response.pathsend", "path": "f"})),
    Case(
        "http.pathsend-order",
        sender(
            START,
            {"type": "http.response.body", "body": b"a", "more_body": True},
            {"type": "http.response.pathsend", "path": os.path.abspath(__file__)},
        ),
    ),
    Case("http.debug-info", sender({"type": "http.response.debug", "info": "x"}, START, BODY)),
    Case(
        "websocket.denial-status",
        ws_sender({"type": "websocket.http.response.start", "status": "403"}),
        "websocket",
    ),
    Case(
        "websocket.denial-body",
        ws_sender(
            {"type": "websocket.http.response.start", "status": 403},
            {"type": "websocket.http.response.body", "body": "no"},
        ),
        "websocket",
    ),
    # WebSocket
    Case(
        "websocket.header-reserved",
        ws_sender({"type": "websocket.accept", "headers": [(b"sec-websocket-protocol", b"x")]}),
        "websocket",
    ),
    Case(
        "websocket.text-encodable",
        ws_sender({"type": "websocket.accept"}, {"type": "websocket.send", "text": "\ud800"}),
        "websocket",
    ),
    Case("websocket.send-after-disconnect", ws_send_after_disconnect, "websocket-close"),
    Case(
        "websocket.accept-first",
        ws_sender({"type": "websocket.send", "text": "hi"}),
        "websocket",
        "500",
    ),
    Case(
        "websocket.accept-once",
        ws_sender({"type": "websocket.accept"}, {"type": "websocket.accept"}),
        "websocket",
        "101",
    ),
    Case(
        "websocket.subprotocol",
        ws_sender({"type": "websocket.accept", "subprotocol": "chat"}),
        "websocket",
        "500",
    ),
    Case(
        "websocket.header-lowercase",
        ws_sender({"type": "websocket.accept", "headers": [(b"X-Up", b"1")]}),
        "websocket",
    ),
    Case(
        "websocket.headers-shape",
        ws_sender({"type": "websocket.accept", "headers": [("x-up", "1")]}),
        "websocket",
    ),
    Case(
        "websocket.send-one",
        ws_sender({"type": "websocket.accept"}, {"type": "websocket.send"}),
        "websocket",
        "101",
    ),
    Case(
        "websocket.send-one",
        ws_sender(
            {"type": "websocket.accept"}, {"type": "websocket.send", "text": "a", "bytes": b"b"}
        ),
        "websocket",
        "101",
    ),
    Case(
        "websocket.send-types",
        ws_sender({"type": "websocket.accept"}, {"type": "websocket.send", "bytes": "text"}),
        "websocket",
        "101",
    ),
    Case(
        "websocket.close-code",
        ws_sender({"type": "websocket.accept"}, {"type": "websocket.close", "code": 1006}),
        "websocket",
        "101",
    ),
    Case(
        "websocket.close-reason",
        ws_sender({"type": "websocket.accept"}, {"type": "websocket.close", "reason": "x" * 200}),
        "websocket",
        "101",
    ),
    Case(
        "websocket.after-close",
        ws_sender({"type": "websocket.close"}, {"type": "websocket.accept"}),
        "websocket",
        "403",
    ),
    Case(
        "websocket.denial-order",
        ws_sender({"type": "websocket.http.response.body", "body": b"no"}),
        "websocket",
        "500",
    ),
    Case("websocket.no-answer", ws_no_answer, "websocket", "500|403"),
    Case("websocket.receive-after-disconnect", ws_receive_after_disconnect, "websocket-close"),
    # lifespan
    Case(
        "lifespan.order",
        lifespan([*STARTUP_OK, *STARTUP_OK], SHUTDOWN_OK),
        "lifespan",
    ),
    Case(
        "lifespan.failed-message",
        lifespan(STARTUP_OK, [{"type": "lifespan.shutdown.failed", "message": 42}]),
        "lifespan",
    ),
    Case(
        "asgi.unknown-type",
        lifespan(STARTUP_OK, [{"type": "lifespan.ready"}, *SHUTDOWN_OK]),
        "lifespan",
    ),
    Case("lifespan.no-answer", lifespan_returns, "lifespan"),
    Case("lifespan.state-keys", lifespan_int_state_key, "lifespan"),
]


def _id(case: Case) -> str:
    return f"{case.rule}-{CASES.index(case)}"


def _drive(live: Live, case: Case) -> str:
    """Do what the case's client does; return what it got: a status or "closed"."""
    if case.kind == "lifespan":
        with httpx.Client(base_url=live.url, timeout=TIMEOUT) as client:
            client.get("/")
        live.stop()
        return ""
    with live.connect() as raw:
        if case.kind.startswith("websocket"):
            try:
                status, _ = open_socket(raw, "/ws")
            except EOFError:
                return "closed"
            if case.kind == "websocket-close":
                raw.send(frame(CLOSE, close_payload(1000)))
            raw.closed_within(TIMEOUT)
            return str(status)
        raw.send(b"GET / HTTP/1.1\r\nHost: test\r\n\r\n")
        if case.kind == "http-hangup":
            raw.close()
            return "closed"
        try:
            response = raw.read_response()
        except EOFError:
            return "closed"
        if response.framing == "close" or raw.closed_within(0.2):
            # An answer cut short (Content-Length unmet) is as good as none.
            declared = response.header(b"content-length")
            if declared is not None and int(declared) != len(response.body):
                return "closed"
        return str(response.status)


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_each_rule_is_caught_alone_next_to_its_message(serve, case: Case):
    # The client never answers an app's close frame: the server drops it at once.
    live = serve(
        case.app, lifespan="on" if case.kind == "lifespan" else "off", timeout_ws_close=0.1
    )
    answer = _drive(live, case)
    kind = "lifespan" if case.kind == "lifespan" else case.kind.split("-")[0]
    exchange = live.wait_for(ScopeCreated, timeout=TIMEOUT).exchange
    scopes = {e.exchange: e.scope["type"] for e in live.events(ScopeCreated)}
    exchange = next(i for i, t in scopes.items() if t == kind)
    live.wait_for(ExchangeEnded, exchange=exchange)
    found = live.events(SpecViolation)
    assert [v.rule for v in found] == [case.rule], [(v.rule, v.detail) for v in found]
    violation = found[0]
    assert violation.exchange == exchange
    counted = RULES[case.rule].severity in COUNTED  # info and perf: shown, not counted
    assert live.store.exchanges[exchange].violations == (1 if counted else 0)
    assert violation.section == RULES[case.rule].section
    assert violation.detail
    if violation.cause:  # next to the message that broke it: the event just before
        events = live.store.exchanges[exchange].events
        index = events.index(violation)
        before = [e for e in events[:index] if isinstance(e, (MessageSent, MessageReceived))]
        assert before[-1].seq == violation.cause
    else:
        assert case.rule in ("http.incomplete", "websocket.no-answer", "lifespan.no-answer")
    if case.answer:
        assert answer in case.answer.split("|"), answer


def test_the_catalogue_covers_every_rule():
    from tests.trace.test_spec_server import SERVER_CASES, UNIT_CASES

    covered = {case.rule for case in CASES} | {c[0] for c in SERVER_CASES + UNIT_CASES}
    assert covered == set(RULES), set(RULES) ^ covered


def test_every_rule_says_where_it_comes_from():
    from asgi_scope.trace.rules import LAYERS, SEVERITIES

    for rule in RULES.values():
        assert rule.id.split(".")[0] == rule.protocol
        assert rule.section and rule.title and rule.text.endswith((".", ")"))
        assert rule.severity in SEVERITIES and rule.layer in LAYERS
        assert (rule.spec.startswith(("ASGI", "RFC")) and rule.spec[-1].isdigit()) or (
            rule.spec == "ASGI Extensions"
        )
        assert rule.fix.endswith((".", ")")) and rule.side in ("app", "server")


def test_the_checker_never_raises_on_strange_messages():
    class Weird(dict):
        def get(self, *args: Any) -> Any:  # a mapping that lies about its keys
            raise KeyError("no")

    class BadRepr:
        def __repr__(self) -> str:
            raise ValueError("nope")

    strange = [
        None, 1, "x", b"x", [START], (m for m in ()), BadRepr(), {"type": None},
        {"type": "http.response.start", "status": BadRepr(), "headers": [BadRepr()]},
        {"type": "http.response.start", "headers": {b"a": b"b"}},
        {"type": "http.response.body", "body": BadRepr(), "more_body": BadRepr()},
        {"type": "websocket.send", "bytes": BadRepr()},
        {"type": "websocket.close", "code": BadRepr(), "reason": BadRepr()},
        {"type": "lifespan.startup.failed", "message": BadRepr()},
    ]  # fmt: skip
    for scope_type in ("http", "websocket", "lifespan"):
        for message in strange:
            checker = checker_for({"type": scope_type, "method": "GET"})
            assert checker is not None
            checker.sent(message)
            checker.ended("complete")
        checker_for({"type": scope_type}).sent(Weird(type="x"))  # type: ignore[union-attr]


def test_a_header_pair_once_well_formed_hides_no_later_fault():
    """The checker remembers well-formed header pairs (its hot path): a later
    response's malformed pair, under a name or with a value seen before, is
    still found."""

    class Bytes(bytes):
        pass

    good = {"type": "http.response.start", "status": 200, "headers": [(b"x-a", b"ok")]}
    for _ in range(2):
        assert checker_for({"type": "http", "method": "GET"}).sent(good) is None  # type: ignore[union-attr]
    for headers, rule_id in [
        ([(b"x-a", b"ok\r\n")], "http.header-value-chars"),
        ([(b"X-a", b"ok")], "http.header-lowercase"),
        ([(b"x-a", bytearray(b"ok"))], "http.headers-shape"),
        ([(Bytes(b"x-a"), b"ok")], "http.headers-shape"),
        ([[b"x-a", b"ok"], (b"x a", b"ok")], "http.header-name-token"),
    ]:
        checker = checker_for({"type": "http", "method": "GET"})
        findings = checker.sent({**good, "headers": headers})  # type: ignore[union-attr]
        assert rule_id in [rule for rule, _ in findings or ()], (headers, findings)


# -- no false alarms on real apps ---------------------------------------------------


def _no_violations(live: Live, count: int) -> None:
    live.collect(lambda s: len([e for e in s.events if isinstance(e, ExchangeEnded)]) >= count)
    found = live.events(SpecViolation)
    assert not found, [(v.rule, v.detail) for v in found]
    # Our own server's HTTP scopes are not checked per request (the hot path):
    # every scope it built breaks no scope rule.
    scopes = live.events(ScopeCreated)
    assert scopes and all(check_scope(e.scope) is None for e in scopes), [
        (e.scope["type"], check_scope(e.scope)) for e in scopes
    ]


def test_no_false_alarms_on_the_demo_app(serve):
    from asgi_scope.demo import app

    live = serve(app, lifespan="on")
    with httpx.Client(base_url=live.url, timeout=TIMEOUT) as client:
        client.get("/")
        client.post("/echo", content=b"hello")
        client.head("/")
        client.get("/missing")
    live.stop()
    _no_violations(live, 5)


def test_no_false_alarms_on_fastapi(serve, tmp_path):
    websockets_sync = pytest.importorskip("websockets.sync.client")
    from tests.apps.fastapi_app import app

    live = serve(app, lifespan="on")
    with httpx.Client(base_url=live.url, timeout=TIMEOUT) as client:
        client.get("/")
        client.get("/items/42", params={"q": "x"})
        client.post("/user", json={"name": "Ada", "age": 36})
        client.post("/user", json={"name": "Ada"})  # 422
        client.get("/stream")
        client.get("/file")
        client.head("/file")
        client.get("/state")
        client.get("/boom")  # raises: a 500, not a spec violation
    ws_url = live.url.replace("http", "ws") + "/ws/echo"
    with websockets_sync.connect(ws_url, open_timeout=TIMEOUT) as ws:
        ws.send("hi")
        assert ws.recv(timeout=TIMEOUT) is not None
    live.stop()
    _no_violations(live, 11)


def test_no_false_alarms_on_starlette(serve, tmp_path):
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.middleware.gzip import GZipMiddleware
    from starlette.responses import (
        FileResponse,
        JSONResponse,
        PlainTextResponse,
        RedirectResponse,
        StreamingResponse,
    )
    from starlette.routing import Route

    path = tmp_path / "f.txt"
    path.write_bytes(os.urandom(5000))

    async def stream(_):
        async def gen():
            for i in range(3):
                yield f"{i}\n"

        return StreamingResponse(gen())

    app = Starlette(
        routes=[
            Route("/", lambda _: PlainTextResponse("x" * 2000)),
            Route("/json", lambda _: JSONResponse({"a": 1})),
            Route("/file", lambda _: FileResponse(path)),
            Route("/stream", stream),
            Route("/go", lambda _: RedirectResponse("/")),
        ],
        middleware=[Middleware(GZipMiddleware, minimum_size=500)],
    )
    live = serve(app)
    with httpx.Client(base_url=live.url, timeout=TIMEOUT) as client:
        for url in ("/", "/json", "/file", "/stream", "/go", "/nope"):
            client.get(url, headers={"accept-encoding": "gzip"})
        client.head("/file")
    _no_violations(live, 7)


def test_a_violation_survives_a_capture_round_trip():
    import json

    from asgi_scope.trace.capture import decode_event, event_line

    event = SpecViolation(7, 1234, 2, 3, "http.body-bytes", "ASGI HTTP 2.5", "body is a str", 6)
    assert decode_event(json.loads(event_line(event))) == event


async def never_finishes(scope: dict[str, Any], receive: Any, send: Any) -> None:
    import asyncio

    await receive()
    await send(START)
    await send({"type": "http.response.body", "body": b"wait for it", "more_body": True})
    await asyncio.sleep(60)  # cancelled by the server's shutdown


def test_a_task_that_never_finishes_its_response_is_caught_at_shutdown(serve):
    import threading

    live = serve(never_finishes, timeout_graceful_shutdown=0.3)

    def client() -> None:
        with contextlib.suppress(httpx.HTTPError):
            httpx.get(live.url, timeout=TIMEOUT)

    thread = threading.Thread(target=client, daemon=True)
    thread.start()
    live.wait_for(MessageSent, timeout=TIMEOUT)
    live.stop()
    thread.join(TIMEOUT)
    live.collect(lambda s: bool(live.events(ExchangeEnded)))
    found = live.events(SpecViolation)
    assert [(v.rule, v.cause) for v in found] == [("http.incomplete", 0)]
    assert "cancelled it at shutdown" in found[0].detail


def test_no_false_alarms_on_quart(serve):
    quart = pytest.importorskip("quart")
    app = quart.Quart(__name__)

    @app.route("/")
    async def index() -> str:
        return "hello"

    @app.route("/json", methods=["POST"])
    async def echo() -> Any:
        return await quart.request.get_json()

    live = serve(app, lifespan="on")
    with httpx.Client(base_url=live.url, timeout=TIMEOUT) as client:
        assert client.get("/").status_code == 200
        assert client.post("/json", json={"a": 1}).json() == {"a": 1}
        client.get("/nope")
        client.head("/")
    live.stop()
    _no_violations(live, 5)


def test_no_false_alarms_on_litestar(serve):
    litestar = pytest.importorskip("litestar")

    @litestar.get("/")
    async def index() -> str:
        return "hello"

    @litestar.get("/json")
    async def item() -> dict[str, Any]:
        return {"id": 4}

    app = litestar.Litestar([index, item])
    live = serve(app, lifespan="on")
    with httpx.Client(base_url=live.url, timeout=TIMEOUT) as client:
        assert client.get("/").status_code == 200
        assert client.get("/json").json() == {"id": 4}
        client.get("/nope")
    live.stop()
    _no_violations(live, 4)
