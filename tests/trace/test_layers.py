"""Middleware layers: discovery, the shim at every boundary, and what each layer
changed, on a real FastAPI app (tests/apps/layered.py) under a real server."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from asgi_scope.trace.capture import Header, read_capture, write_capture
from asgi_scope.trace.events import (
    ExchangeEnded,
    LayerEntered,
    LayerReceived,
    LayerReturned,
    LayerSent,
    MessageSent,
)
from asgi_scope.trace.layer_changes import changes, visits
from asgi_scope.trace.layers import LayerShim, NoLayersError, discover, wrap_layers
from tests.apps import layered
from tests.live import Live


async def plain_app(scope: Any, receive: Any, send: Any) -> None:
    """An app with no chain: one layer, as today."""
    if scope["type"] == "http":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"plain"})


def lines(live: Live, exchange: int) -> list[str]:
    return [c.line for c in changes(live.store.exchanges[exchange].events)]


def ended(live: Live, count: int) -> list[int]:
    live.collect(lambda s: sum(isinstance(e, ExchangeEnded) for e in s.events) >= count)
    return [e.exchange for e in live.store.events if isinstance(e, ExchangeEnded)]


@pytest.fixture
def layered_live(serve: Any) -> Live:
    app, _ = wrap_layers(layered.app)
    return serve(app)


def test_discovery_finds_the_stack_as_starlette_will_run_it() -> None:
    names = [layer.name for layer in discover(layered.app)]
    assert names[0] == "FastAPI"
    assert names[1] == "ServerErrorMiddleware"  # built the way Starlette builds it
    user = ["CORSMiddleware", "GZipMiddleware", "AddHeaderMiddleware", "ETagMiddleware"]
    positions = [names.index(name) for name in user]
    assert positions == sorted(positions)  # outermost first, as add_middleware stacks them
    assert names[-3:] == ["ExceptionMiddleware", "AsyncExitStackMiddleware", "APIRouter"]
    assert discover(layered.app)[2].module  # the module is in each layer's detail


def test_an_app_with_no_chain_is_served_as_it_is() -> None:
    app, chain = wrap_layers(plain_app)
    assert app is plain_app and [layer.name for layer in chain] == ["plain_app"]
    with pytest.raises(NoLayersError, match="no middleware chain found in plain_app"):
        wrap_layers(plain_app, required=True)


def test_wrapping_twice_adds_no_second_shim_inside() -> None:
    wrap_layers(layered.app)
    wrap_layers(layered.app)
    stack = layered.app.middleware_stack
    assert isinstance(stack, LayerShim) and not isinstance(stack.app, LayerShim)


def test_no_chain_records_what_it_recorded_before(serve: Any) -> None:
    live = serve(wrap_layers(plain_app)[0])
    assert httpx.get(live.url).text == "plain"
    ended(live, 1)
    kinds = {type(e) for e in live.store.events}
    assert not kinds & {LayerEntered, LayerReceived, LayerSent, LayerReturned}
    assert changes(live.store.events) == []


def test_every_boundary_is_recorded_with_its_layer(layered_live: Live) -> None:
    response = httpx.post(f"{layered_live.url}/echo", content=b"ping")
    assert response.content == b"ping"
    exchange = ended(layered_live, 1)[0]
    layers = visits(layered_live.store.exchanges[exchange].events)
    assert [v.depth for v in layers] == list(range(len(layers)))
    cors = next(v for v in layers if v.layer == "CORSMiddleware")
    assert cors.module == "starlette.middleware.cors"
    assert cors.scope is not None and cors.scope["path"] == "/echo"
    assert layers[-1].layer == "echo" and layers[-1].endpoint
    # every layer got the request body from above and sent the response up
    for visit in layers:
        assert [m.get("body") for _, m, _ in visit.received][:1] == [b"ping"], visit.layer
        assert any(m["type"] == "http.response.start" for _, m, _ in visit.sent), visit.layer


def test_each_change_is_attributed_to_its_layer(layered_live: Live) -> None:
    headers = {"accept-encoding": "gzip", "origin": "http://example.test"}
    response = httpx.get(f"{layered_live.url}/big", headers=headers)
    assert response.headers["content-encoding"] == "gzip"
    found = lines(layered_live, ended(layered_live, 1)[0])
    assert "CORSMiddleware added header access-control-allow-origin: *" in found
    assert "AddHeaderMiddleware added header x-added-by: timing" in found
    assert "GZipMiddleware added header content-encoding: gzip" in found
    gzip = next(line for line in found if line.startswith("GZipMiddleware re-encoded"))
    assert "of 2,0" in gzip and gzip.endswith("content-encoding gzip")  # about 2 KB became less
    assert any(line.startswith("ETagMiddleware added header etag: ") for line in found)
    assert 'APIRouter added scope["route"]' in found
    # the header is attributed to the layer that added it, not to those it passed through
    assert not any("x-added-by" in line for line in found if not line.startswith("AddHeader"))


def test_a_buffering_middleware_holds_the_stream_back(layered_live: Live) -> None:
    assert httpx.get(f"{layered_live.url}/stream").text.count("chunk") == 5
    found = lines(layered_live, ended(layered_live, 1)[0])
    held = [line for line in found if " held " in line]
    assert len(held) == 1 and held[0].startswith("ETagMiddleware held 6 bodies for ")
    assert held[0].endswith("then sent 1 body")


def test_a_cors_preflight_is_answered_by_cors_itself(layered_live: Live) -> None:
    preflight = {"origin": "http://example.test", "access-control-request-method": "GET"}
    assert httpx.options(f"{layered_live.url}/big", headers=preflight).status_code == 200
    exchange = ended(layered_live, 1)[0]
    layers = visits(layered_live.store.exchanges[exchange].events)
    assert layers[-1].layer == "CORSMiddleware"  # the next layer was never called
    assert "CORSMiddleware answered 200 itself" in lines(layered_live, exchange)


def test_a_raising_route_is_answered_by_the_exception_middleware(layered_live: Live) -> None:
    assert httpx.get(f"{layered_live.url}/boom").status_code == 500
    exchange = ended(layered_live, 1)[0]
    answered = [line for line in lines(layered_live, exchange) if " answered " in line]
    assert len(answered) == 1
    assert answered[0].startswith("ServerErrorMiddleware answered 500 after ")
    assert answered[0].endswith(" raised ValueError")
    events = layered_live.store.exchanges[exchange].events
    raised = [e.layer for e in events if isinstance(e, LayerReturned) and e.outcome == "error"]
    assert raised[0] == "boom"  # the endpoint raised first, each layer above passed it on


def test_a_mounted_starlette_app_is_walked_into(layered_live: Live) -> None:
    assert httpx.get(f"{layered_live.url}/sub/hi").text == "hi ada"
    exchange = ended(layered_live, 1)[0]
    names = [v.layer for v in visits(layered_live.store.exchanges[exchange].events)]
    mounted = names[names.index("APIRouter") + 1 :]
    assert mounted[:2] == ["Starlette", "ServerErrorMiddleware"]
    assert mounted[-3:] == ["ExceptionMiddleware", "Router", "hi"]  # down to its endpoint
    assert "SessionLikeMiddleware" in mounted
    found = lines(layered_live, exchange)
    assert 'SessionLikeMiddleware added scope["session"]' in found
    assert any(line.startswith('APIRouter changed scope["root_path"]') for line in found)


def test_a_starlette_app_alone_has_its_layers() -> None:
    app = Starlette()
    assert [layer.name for layer in discover(app)] == [
        "Starlette",
        "ServerErrorMiddleware",
        "ExceptionMiddleware",
        "Router",
    ]


def test_layer_events_survive_a_capture(layered_live: Live, tmp_path: Any) -> None:
    httpx.get(f"{layered_live.url}/big", headers={"origin": "http://example.test"})
    exchange = ended(layered_live, 1)[0]
    events = layered_live.store.exchanges[exchange].events
    path = tmp_path / "layers.jsonl"
    write_capture(path, Header("tests.apps.layered:app", 0, {}), events)
    again = read_capture(path).events
    assert [type(e) for e in again] == [type(e) for e in events]
    assert [c.line for c in changes(again)] == [c.line for c in changes(events)]
    # the server's boundary is still the outer exchange (what HAR exports)
    assert sum(isinstance(e, MessageSent) for e in again) >= 2


def test_the_layer_filter_keeps_exchanges_a_layer_changed(layered_live: Live) -> None:
    from asgi_scope.trace.filter import parse

    preflight = {"origin": "http://example.test", "access-control-request-method": "GET"}
    httpx.options(f"{layered_live.url}/big", headers=preflight)
    httpx.get(f"{layered_live.url}/big")
    first, second = ended(layered_live, 2)
    exchanges = layered_live.store.exchanges
    cors, etag = parse("~l cors"), parse("~l '^ETag'")
    assert cors(exchanges[first]) and cors(exchanges[second])  # vary: Origin on both
    assert etag(exchanges[second]) and not etag(exchanges[first])  # a preflight never got there
    assert not parse("~l NoSuchMiddleware")(exchanges[second])


def test_a_long_stream_through_layers_keeps_a_bounded_trace() -> None:
    from asgi_scope.trace.events import ScopeCreated
    from asgi_scope.trace.recorder import Recorder
    from asgi_scope.trace.store import EVENTS_KEPT, Store

    recorder = Recorder()
    recorder.record(ScopeCreated, conn=1, exchange=1, scope={"type": "http"}, wire=None)
    body = {"type": "http.response.body", "body": b"x", "more_body": True}
    for _ in range(EVENTS_KEPT + 500):
        recorder.record(LayerSent, conn=1, exchange=1, depth=3, layer="L", message=body, dropped=0)
    store = Store()
    store.add(recorder.drain())
    exchange = store.exchanges[1]
    assert len(exchange.events) == EVENTS_KEPT
    assert exchange.unkept == 501


def test_a_websocket_crosses_every_layer(serve: Any) -> None:
    from websockets.sync.client import connect

    from tests.apps import fastapi_app

    live = serve(wrap_layers(fastapi_app.app)[0])
    with connect(live.url.replace("http", "ws") + "/ws/echo", open_timeout=5) as ws:
        ws.send("hi")
        assert ws.recv(timeout=5) == "echo: hi"
    exchange = ended(live, 1)[0]
    layers = visits(live.store.exchanges[exchange].events)
    endpoint = layers[-1]
    assert endpoint.endpoint and endpoint.layer == "websocket_echo"
    assert [m["type"] for _, m, _ in endpoint.received][:2] == [
        "websocket.connect",
        "websocket.receive",
    ]
    assert any(m["type"] == "websocket.accept" for _, m, _ in endpoint.sent)
