"""The Messages list of an exchange past the store's per-exchange event cap:
its last row counts what was not kept, and stays a well-behaved last row."""

from __future__ import annotations

import pytest
from textual.widgets import DataTable

from asgi_scope.trace import store
from asgi_scope.trace.events import AppRaised, MessageSent
from asgi_scope.ui.components.detail import messages
from asgi_scope.ui.components.detail.messages import MessagesView
from tests.ui.conftest import run_app, screen_text
from tests.ui.fake_traffic import Traffic
from tests.ui.test_app import detail_text, message_rows, select_exchange

CAP = 12


@pytest.fixture
def small_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store, "EVENTS_KEPT", CAP)
    monkeypatch.setattr(messages, "EVENTS_KEPT", CAP)


def stream(traffic: Traffic, exchange: int, chunks: int) -> None:
    for _ in range(chunks):
        body = {"type": "http.response.body", "body": b"tick", "more_body": True}
        traffic.rec(MessageSent, conn=1, exchange=exchange, message=body, dropped=0)


async def until_rows(pilot, app, predicate) -> None:
    for _ in range(100):
        await pilot.pause(0.02)
        if predicate(message_rows(app)):
            return
    raise AssertionError(message_rows(app))


def capped(path: str) -> tuple[Traffic, int]:
    """A connection with one exchange at ``path`` streamed well past the cap."""
    traffic = Traffic()
    traffic.connect(1)
    exchange = traffic.http(1, "GET", path, finish=False)
    stream(traffic, exchange, 3 * CAP)
    return traffic, exchange


async def on_the_not_kept_row(app, pilot, exchange: int) -> DataTable:
    """Select ``exchange``, wait for its "not kept" row and put the cursor on it."""
    await select_exchange(app, pilot, exchange)
    await until_rows(pilot, app, lambda rows: "not kept" in rows[-1])
    table = app.query_one("#message-list", DataTable)
    table.move_cursor(row=table.row_count - 1)
    await pilot.pause()
    return table


def test_the_not_kept_row_keeps_the_cursor_while_its_count_moves(small_cap) -> None:
    traffic, exchange = capped("/ticks")

    async def check(app, pilot):
        table = await on_the_not_kept_row(app, pilot, exchange)
        before = message_rows(app)[-1]
        stream(traffic, exchange, 5)  # the count moves; no row is added
        await until_rows(pilot, app, lambda rows: rows[-1] != before)
        await pilot.pause()
        assert table.cursor_row == table.row_count - 1, "the cursor left the row it was on"
        assert app.query_one(MessagesView).selected is None
        traffic.rec(
            AppRaised,
            conn=1,
            exchange=exchange,
            exc_type="ValueError",
            message="boom",
            traceback="Traceback ...",
        )  # a row
        await until_rows(pilot, app, lambda rows: any("ValueError" in r for r in rows))
        await pilot.pause()
        assert "not kept" in message_rows(app)[-1] and "ValueError" in message_rows(app)[-2]
        assert table.cursor_row == table.row_count - 1, "the cursor left the row it was on"

    run_app(traffic, check)


def test_search_from_the_not_kept_row_starts_again_at_the_first_row(small_cap) -> None:
    traffic, exchange = capped("/tick-stream")  # "tick" in row 0 and every chunk after

    async def check(app, pilot):
        table = await on_the_not_kept_row(app, pilot, exchange)
        assert app.query_one(MessagesView).find_next("tick")
        await pilot.pause()
        assert table.cursor_row == 0, message_rows(app)[table.cursor_row]

    run_app(traffic, check)


def test_the_not_kept_row_is_short_and_explained_in_the_detail(small_cap) -> None:
    traffic, exchange = capped("/ticks")

    async def check(app, pilot):
        table = await on_the_not_kept_row(app, pilot, exchange)
        unkept = app.store.exchanges[exchange].unkept
        assert unkept > 0
        summary = str(table.get_row_at(table.row_count - 1)[3])
        assert summary == f"{unkept:,} more", summary  # fits the column
        assert str(table.get_row_at(table.row_count - 1)[2]) == "not kept"
        assert summary in screen_text(app)  # whole, on screen
        text = detail_text(app)
        assert "Select a message" not in text
        assert f"{unkept:,} more events counted, not kept" in text
        assert f"{unkept:,} messages, WebSocket frames and raw reads" in text
        assert f"At most {CAP:,} events are kept per exchange" in text
        assert "Sequence and Timeline tabs draw their phases from the kept events" in text
        stream(traffic, exchange, 5)  # the count moves: the detail follows it
        await until_rows(pilot, app, lambda rows: f"{unkept + 5:,} more" in rows[-1])
        await pilot.pause()
        assert f"{unkept + 5:,} more events counted" in detail_text(app)
        await pilot.press("m", "home")
        await pilot.pause()
        assert "scope" in detail_text(app) or "ScopeCreated" in detail_text(app)

    run_app(traffic, check)
