"""The layers in the inspector: Sequence lanes per layer, the Layers tab, the
table's mark of the layer that answered (tests/apps/layered.py, a real server)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from asgi_scope.demo import app as demo_app
from asgi_scope.trace.events import ExchangeEnded
from asgi_scope.trace.layer_changes import answered_by
from asgi_scope.trace.layers import wrap_layers
from asgi_scope.ui.components.detail.layers_view import NO_LAYERS
from asgi_scope.ui.components.detail.sequence import (
    APP,
    SERVER,
    draw,
    exchange_events,
    layer_lanes,
    steps,
)
from tests.apps import layered
from tests.live import TIMEOUT
from tests.ui.test_app import table_rows
from tests.ui.test_live import run_live, until
from tests.ui.test_sequence import STYLE


def _store(serve: Any, *requests: tuple[str, str, dict[str, str]]) -> Any:
    live = serve(wrap_layers(layered.app)[0])
    with httpx.Client(base_url=live.url, timeout=TIMEOUT) as client:
        for method, path, headers in requests:
            client.request(method, path, headers=headers)
    live.collect(lambda s: sum(isinstance(e, ExchangeEnded) for e in s.events) >= len(requests))
    return live.store


def test_sequence_lanes_are_the_layers_that_changed_something(serve: Any) -> None:
    store = _store(serve, ("GET", "/big", {"origin": "http://example.test"}))
    exchange = next(x for x in store.exchanges.values() if x.path == "/big")
    events = exchange_events(store, exchange)
    lanes = [name for _, name in layer_lanes(events)]
    assert lanes[0] == "FastAPI" and lanes[-1] == "big"  # the outermost, the endpoint
    assert "CORSMiddleware" in lanes and "AddHeaderMiddleware" in lanes
    assert "ServerErrorMiddleware" not in lanes  # passed everything on unchanged
    rows = steps(events, lanes=layer_lanes(events))
    cors = APP + lanes.index("CORSMiddleware")
    starts = [(r.src, r.dst) for r in rows if r.label == "start 200"]
    assert (cors, APP) in starts  # CORS sent its start up to FastAPI's lane
    assert (APP, SERVER) in [(r.src, r.dst) for r in rows if "response.start" in r.label]
    text = draw(events, 120, STYLE, "title", layered=True).plain
    assert "CORS" in text and "AddHeader" in text  # lane names, Middleware dropped


def test_a_preflight_is_marked_as_answered_by_cors(serve: Any) -> None:
    preflight = {"origin": "http://example.test", "access-control-request-method": "GET"}
    store = _store(serve, ("OPTIONS", "/big", preflight), ("GET", "/big", {}))
    by_method = {x.method: x for x in store.exchanges.values() if x.kind == "http"}
    assert answered_by(by_method["OPTIONS"]) == "CORSMiddleware"
    assert answered_by(by_method["GET"]) == ""  # the endpoint answered


def test_the_layers_tab_lists_the_stack_with_its_changes() -> None:
    async def check(ui: Any, pilot: Any, url: str) -> None:
        headers = {"origin": "http://example.test"}
        await asyncio.to_thread(httpx.get, f"{url}/big", headers=headers, timeout=TIMEOUT)
        await until(pilot, lambda: any("/big" in r and "done" in r for r in table_rows(ui)))
        await pilot.press("L")
        await pilot.pause()
        assert ui.query_one("#detail").active == "layers"
        lines = ui.query_one("#layers").render_layers(ui.query_one("#detail").exchange).plain
        lines = lines.splitlines()
        at = next(i for i, line in enumerate(lines) if " AddHeaderMiddleware " in line)
        assert "tests.apps.layered" in lines[at]  # the module, in the layer's detail
        assert lines[at + 1].strip() == "added header x-added-by: timing"
        assert lines[1].split()[:2] == ["0", "FastAPI"]  # top to bottom

    run_live(wrap_layers(layered.app)[0], check)


def test_the_layers_tab_says_why_it_is_empty() -> None:
    async def check(ui: Any, pilot: Any, url: str) -> None:
        await asyncio.to_thread(httpx.get, f"{url}/", timeout=TIMEOUT)
        await until(pilot, lambda: any("done" in r for r in table_rows(ui)))
        await pilot.press("L")
        await pilot.pause()
        view = ui.query_one("#layers")
        assert view.render_layers(ui.query_one("#detail").exchange).plain == NO_LAYERS

    run_live(demo_app, check)


async def _shown(ui: Any, pilot: Any, url: str, path: str, tab: str) -> None:
    """GET ``path``, wait for its row to be done, then show tab ``tab`` (its key)."""
    await asyncio.to_thread(httpx.get, f"{url}{path}", timeout=TIMEOUT)
    await until(pilot, lambda: any(path in r and "done" in r for r in table_rows(ui)))
    await pilot.press(tab)
    await pilot.pause()


def test_the_messages_tab_lists_each_layers_messages_grouped_by_layer() -> None:
    async def check(ui: Any, pilot: Any, url: str) -> None:
        await _shown(ui, pilot, url, "/big", "m")
        table = ui.query_one("#message-list")
        plain = len(table.rows)  # the server's boundary only, as without layers
        table.focus()
        await pilot.press("g")
        await until(pilot, lambda: len(table.rows) > plain)
        arrows = [str(table.get_row_at(i)[0]) for i in range(len(table.rows))][plain:]
        layers = [arrow[2:] for arrow in arrows]
        cors = [i for i, name in enumerate(layers) if name == "CORSMiddleware"]
        assert cors == list(range(cors[0], cors[-1] + 1))  # one block, one layer
        assert layers.index("CORSMiddleware") < layers.index("GZipMiddleware")  # outer first
        assert arrows[cors[0]] == "→ CORSMiddleware"  # its call heads its block
        await pilot.press("g")
        await until(pilot, lambda: len(table.rows) == plain)

    run_live(wrap_layers(layered.app)[0], check)


def test_the_scope_tab_says_which_layer_changed_the_scope() -> None:
    async def check(ui: Any, pilot: Any, url: str) -> None:
        await _shown(ui, pilot, url, "/sub/hi", "s")
        view = ui.query_one("#scope")
        text = view.render_scope(ui.query_one("#detail").exchange).plain
        assert '  SessionLikeMiddleware added scope["session"]' in text.splitlines()

    run_live(wrap_layers(layered.app)[0], check)
