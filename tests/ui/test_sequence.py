"""The Sequence tab: a real exchange drawn as client, server and app lanes."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from rich.style import Style

from asgi_scope.demo import app as demo_app
from asgi_scope.trace.events import ExchangeEnded
from asgi_scope.ui.app import ScopeApp
from asgi_scope.ui.components.detail.sequence import (
    APP,
    CLIENT,
    SERVER,
    draw,
    exchange_events,
    phases,
    steps,
)
from tests.live import TIMEOUT
from tests.ui.test_app import table_rows
from tests.ui.test_live import run_live, until

STYLE = {
    n: Style.null() for n in ("title", "time", "lane", "bytes", "in", "out", "error", "dim", "gap")
}


def _stream_store(serve):
    live = serve(demo_app)
    with httpx.Client(base_url=live.url, timeout=TIMEOUT) as client:
        client.post("/echo", content=b"hello")
        client.get("/stream")
    live.collect(lambda s: sum(isinstance(e, ExchangeEnded) for e in s.events) >= 2)
    return live.store


def test_steps_follow_the_exchange_lane_by_lane(serve):
    store = _stream_store(serve)
    echo = next(x for x in store.exchanges.values() if x.path == "/echo")
    rows = steps(exchange_events(store, echo))
    # The request may arrive in one read or two (head, then body): any number of
    # client -> server rows before the http.request.
    request = next(i for i, r in enumerate(rows) if r.label.startswith("http.request"))
    assert rows[0].src == CLIENT
    assert all((r.src, r.dst) == (CLIENT, SERVER) for r in rows[:request] if r.src == CLIENT)
    rows = [r for r in rows if r.src != CLIENT]
    assert [(r.src, r.dst) for r in rows] == [
        (SERVER, APP),  # scope
        (SERVER, APP),  # http.request
        (APP, SERVER),  # http.response.start
        (SERVER, CLIENT),  # the response head
        (APP, SERVER),  # http.response.body
        (SERVER, CLIENT),  # the body
        (APP, SERVER),  # the app returned
    ]
    first = steps(exchange_events(store, echo))[0]
    assert first.label.endswith(": POST /echo HTTP/1.1")
    labels = [r.label for r in rows]
    assert labels[0] == "scope POST /echo HTTP/1.1"
    assert labels[1] == "http.request 5 B b'hello'"
    assert labels[3].endswith(": HTTP/1.1 200 OK")
    assert labels[-1] == "returned: complete 200"
    names = [name for name, _ in phases(exchange_events(store, echo))]
    assert names == ["request", "app", "first byte", "body", "total"]


def test_the_diagram_fits_80_columns_and_marks_pauses(serve):
    store = _stream_store(serve)
    stream = next(x for x in store.exchanges.values() if x.path == "/stream")
    for width in (80, 200):
        text = draw(exchange_events(store, stream), width, STYLE, "exchange")
        lines = text.plain.splitlines()
        assert all(len(line) <= width for line in lines), max(map(len, lines))
        header = next(line for line in lines if "client" in line)
        assert header.split() == ["client", "server", "app"]
        pauses = [line for line in lines if "┆" in line]
        assert len(pauses) == 4  # the four 0.3 s sleeps of /stream
        assert all("ms" in line for line in pauses)
        assert sum("http.response.body" in line for line in lines) == 6


def test_the_tab_draws_the_selected_exchange_or_its_connection() -> None:
    async def check(ui: ScopeApp, pilot: Any, url: str) -> None:
        def two_requests_on_one_connection() -> None:
            with httpx.Client(base_url=url, timeout=TIMEOUT) as client:
                client.get("/")
                client.post("/echo", content=b"hi")

        await asyncio.to_thread(two_requests_on_one_connection)
        await until(pilot, lambda: sum("done" in r for r in table_rows(ui)) >= 2)
        await pilot.press("d")
        await pilot.pause()
        assert ui.query_one("#detail").active == "sequence"
        view = ui.query_one("#sequence")
        text = view.render_sequence().plain
        assert "exchange 3 on connection 1" in text
        assert "http.request 2 B b'hi'" in text and "scope GET /" not in text
        view.focus()
        await pilot.press("a")
        text = view.render_sequence().plain
        assert "connection 1, every exchange" in text
        assert "scope GET / HTTP/1.1" in text and "http.request 2 B b'hi'" in text

    run_live(demo_app, check)
