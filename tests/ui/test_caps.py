"""The TUI within the store's caps: dropped exchanges leave the table, the header
counts them, the selection and follow mode carry on."""

from __future__ import annotations

from asgi_scope.ui.components.exchanges import ExchangeTable
from asgi_scope.ui.components.header import ScopeHeader
from tests.ui.conftest import run_app, screen_text, settle
from tests.ui.fake_traffic import Traffic


def requests(traffic: Traffic, n: int, conn: int = 1) -> None:
    for i in range(n):
        traffic.http(conn, "GET", f"/r{i}")


def test_dropped_exchanges_leave_the_table_and_are_counted():
    traffic = Traffic()
    traffic.connect(1)
    requests(traffic, 5)

    async def check(app, pilot):
        table = app.query_one(ExchangeTable)
        assert sorted(app.store.exchanges) == [3, 4, 5]
        assert [table.get_row_at(i)[0].plain for i in range(table.row_count)] == ["3", "4", "5"]
        assert table.selected_id == 5  # following the newest
        assert "dropped 2" in screen_text(app)
        # More traffic: rows go in batches, the selection follows, rows stay in order.
        for i in range(20):
            traffic.http(1, "GET", f"/more{i}")
        await pilot.pause(0.2)
        assert [table.get_row_at(i)[0].plain for i in range(table.row_count)] == [
            "23",
            "24",
            "25",
        ]
        assert table.selected_id == 25
        assert app.store.dropped == 22
        assert "dropped 22" in screen_text(app)
        assert app.query_one(ScopeHeader)

    run_app(traffic, check, keep=3)


def test_a_selected_exchange_kept_stays_selected_when_older_ones_go():
    traffic = Traffic()
    traffic.connect(1)
    requests(traffic, 4)

    async def check(app, pilot):
        table = app.query_one(ExchangeTable)
        await pilot.press("k")  # previous: stops following
        assert table.selected_id == 3
        traffic.http(1, "GET", "/new")  # drops exchange 1 (keep=4)
        await pilot.pause(0.2)
        assert sorted(app.store.exchanges) == [2, 3, 4, 5]
        assert table.selected_id == 3
        assert table.row_count == 4

    run_app(traffic, check, keep=4)


def test_the_table_draws_only_the_rows_on_screen():
    traffic = Traffic()
    traffic.connect(1)
    requests(traffic, 3000)

    async def check(app, pilot):
        table = app.query_one(ExchangeTable)
        assert table.row_count == 2001
        visible = table.scrollable_content_region.height - 1  # under the header
        drawn: list[int] = []  # the lines each render drew, from now on
        table.on_drawn = drawn.append
        table.refresh()
        await settle(app, pilot)
        assert drawn and max(drawn) == visible  # of 2001 rows
        assert table.selected_id == 3000  # following: the newest, on screen
        assert "/r2999" in screen_text(app)
        await pilot.press("home")
        await settle(app, pilot)
        assert table.selected_id == min(app.store.exchanges) == 1000
        assert "/r999 " in screen_text(app)
        assert max(drawn) <= visible
        await pilot.press("pagedown")
        await pilot.pause()
        assert table.cursor_row == visible - 1

    run_app(traffic, check, keep=2001)
