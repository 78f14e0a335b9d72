"""The Stream tab and the ``client gone`` outcome, on sse-starlette (tests/apps/
bodies.py) over a real socket: a stream the client leaves shows its events, one
row each, and ends ``client gone``: not an error, counted apart, not ``~e``."""

from __future__ import annotations

from typing import Any

import httpx

from asgi_scope.trace.filter import parse
from asgi_scope.trace.flow import wire_bytes
from asgi_scope.ui.app import ScopeApp
from asgi_scope.ui.components.detail.hex_view import HexView
from tests.ui.conftest import screen_text
from tests.ui.test_app import select_exchange, table_rows
from tests.ui.test_body_ui import run
from tests.ui.test_live import until


def leave_after(client: httpx.Client, events: int) -> None:
    """Read ``events`` events of the endless stream, then close the connection."""
    with client.stream("GET", "/events?gap=0.01") as response:
        seen = 0
        for line in response.iter_lines():
            seen += line.startswith("data:")
            if seen == events:
                return


def stream_rows(ui: ScopeApp) -> list[list[str]]:
    table = ui.query_one("#stream-list")
    return [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]


def test_a_stream_the_client_leaves_shows_its_events_and_ends_client_gone() -> None:
    def requests(client: httpx.Client) -> None:
        leave_after(client, 3)
        client.get("/json")

    async def check(ui: ScopeApp, pilot: Any) -> None:
        await until(
            pilot, lambda: any("/events" in r and "client gone" in r for r in table_rows(ui))
        )
        exchange = next(x for x in ui.store.exchanges.values() if x.path == "/events")
        assert exchange.state == "client gone" and not exchange.error
        assert ui.store.errors == 0 and ui.store.clients_gone == 1
        assert not parse("~e")(exchange)
        await until(pilot, lambda: "client gone 1" in screen_text(ui).splitlines()[0])
        header = screen_text(ui).splitlines()[0]
        assert "client gone 1" in header and "errors 0" in header
        await select_exchange(ui, pilot, exchange.id)
        await pilot.press("E")
        await until(pilot, lambda: len(stream_rows(ui)) >= 3)
        rows = stream_rows(ui)
        assert [row[3] for row in rows[:3]] == ["tick", "tick", "tick"]
        assert [row[4] for row in rows[:3]] == ["0", "1", "2"]
        assert rows[0][5] == '{"n": 0}'
        assert rows[0][1].startswith("+") and rows[0][2] == "" and rows[1][2].startswith("+")
        await until(pilot, lambda: "event tick" in str(ui.query_one("#stream-detail").render()))
        detail = str(ui.query_one("#stream-detail").render())
        assert detail.startswith("event tick") and "id 0" in detail and '"n": 0' in detail
        await pilot.press("down")
        await pilot.press("x")
        sent = ui.store.connections[exchange.conn].sent

        def highlighted() -> bytes:
            found = ui.query_one(HexView).highlight
            return wire_bytes(sent, *found[1:]) if found and found[0] == "out" else b""

        await until(pilot, lambda: highlighted().startswith(b"id: 1"))
        assert highlighted() == b'id: 1\r\nevent: tick\r\ndata: {"n": 1}\r\n\r\n'

    run(requests, check)


def test_the_stream_tab_says_what_it_is_for_other_exchanges() -> None:
    def requests(client: httpx.Client) -> None:
        client.get("/json")

    async def check(ui: ScopeApp, pilot: Any) -> None:
        await until(pilot, lambda: any("/json" in r and "done" in r for r in table_rows(ui)))
        await pilot.press("E")
        await until(pilot, lambda: "Not a stream" in str(ui.query_one("#stream-detail").render()))

    run(requests, check)


def test_websocket_messages_filter_by_direction_and_regex_and_json_is_pretty() -> None:
    from websockets.sync.client import connect

    def requests(client: httpx.Client) -> None:
        url = str(client.base_url).replace("http", "ws") + "/ws"
        with connect(url, open_timeout=5) as ws:
            for text in ('{"op": "ping", "n": 1}', "hello \x1b[2J", "bye"):
                ws.send(text)
                ws.recv(5)

    async def check(ui: ScopeApp, pilot: Any) -> None:
        rows = table_rows
        await until(pilot, lambda: any("/ws" in r and "done" in r for r in rows(ui)))
        exchange = next(x for x in ui.store.exchanges.values() if x.kind == "websocket")
        await select_exchange(ui, pilot, exchange.id)
        await pilot.press("E")
        await until(pilot, lambda: len(stream_rows(ui)) == 6)
        cells = stream_rows(ui)
        assert [r[2] for r in cells[:2]] == ["client → app", "app → client"]
        assert cells[1][4] == 'echo: {"op": "ping", "n": 1}'
        assert cells[2][4] == "hello \\x1b[2J"  # escaped, never raw
        detail = str(ui.query_one("#stream-detail").render())
        assert detail.startswith("client → app  text  22 B") and '  "op": "ping",' in detail
        await pilot.press("g")  # client → app only
        await until(pilot, lambda: len(stream_rows(ui)) == 3)
        assert {r[2] for r in stream_rows(ui)} == {"client → app"}
        await pilot.press("g")  # app → client only
        await until(pilot, lambda: {r[2] for r in stream_rows(ui)} == {"app → client"})
        await pilot.press("g")  # all again
        ui.query_one("#stream-regex").value = "^b|ping"
        await until(pilot, lambda: len(stream_rows(ui)) == 3)
        assert [r[4] for r in stream_rows(ui)] == [
            '{"op": "ping", "n": 1}',
            'echo: {"op": "ping", "n": 1}',
            "bye",
        ]
        ui.query_one("#stream-regex").value = "(unclosed"  # the last good filter stays
        await until(pilot, lambda: ui.query_one("#stream-regex").has_class("-invalid"))
        assert len(stream_rows(ui)) == 3

    run(requests, check)
