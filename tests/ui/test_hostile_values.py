"""Values an app sends that Python itself refuses to print, over the real server:
the UI shows them escaped or summarized and keeps running."""

from __future__ import annotations

import contextlib
from typing import Any

import httpx

from asgi_scope.ui.app import ScopeApp
from asgi_scope.ui.render import safe_repr, value_text
from tests.ui.conftest import screen_text
from tests.ui.test_app import detail_text, message_rows, table_rows
from tests.ui.test_live import get, run_live, until

OSC52 = "\x1b]52;c;SGk=\x07"


class EvilInt(int):
    def __repr__(self) -> str:
        return OSC52 + "200"

    __str__ = __repr__


async def request(url: str) -> None:
    """A request whose response the server may refuse to send (the status is bad)."""
    with contextlib.suppress(httpx.HTTPError):
        await get(url)


async def select_message(ui: ScopeApp, pilot: Any, type_: str) -> None:
    """Select the first message row whose type cell starts with ``type_`` (a
    spec violation adds a mark after it)."""
    from textual.widgets import DataTable

    table = ui.query_one("#message-list", DataTable)
    for index in range(table.row_count):
        if str(table.get_row_at(index)[2]).startswith(type_):
            table.move_cursor(row=index)
            await pilot.pause()
            return
    raise AssertionError(f"no {type_} row in {message_rows(ui)}")


def status_app(status: Any):
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        await receive()
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b"x"})

    return app


def test_a_status_too_long_to_print_does_not_crash_the_ui() -> None:
    async def check(ui: ScopeApp, pilot: Any, url: str) -> None:
        await request(f"{url}/huge")
        await until(pilot, lambda: any("/huge" in r for r in table_rows(ui)))
        await pilot.press("m")
        await until(pilot, lambda: any("http.response.start" in r for r in message_rows(ui)))
        await select_message(ui, pilot, "http.response.start")
        assert "status" in detail_text(ui)
        assert "/huge" in screen_text(ui)

    run_live(status_app(10**5000), check)


def test_an_int_subclass_with_a_hostile_repr_shows_its_plain_value() -> None:
    """The trace keeps what went on the wire (200), not what the object's own
    ``__repr__`` claims."""

    async def check(ui: ScopeApp, pilot: Any, url: str) -> None:
        await request(f"{url}/evil")
        await until(pilot, lambda: any("/evil" in r for r in table_rows(ui)))
        await pilot.press("m")
        await until(pilot, lambda: any("http.response.start" in r for r in message_rows(ui)))
        await select_message(ui, pilot, "http.response.start")
        assert not any("\x1b" in row for row in table_rows(ui)), table_rows(ui)
        assert "\x1b" not in detail_text(ui) and "200" in detail_text(ui)

    run_live(status_app(EvilInt(200)), check)


def test_values_that_raise_when_looked_at_never_stop_the_ui() -> None:
    from tests.apps.lying import app

    paths = ["/status", "/header", "/body", "/type", "/fine"]

    async def check(ui: ScopeApp, pilot: Any, url: str) -> None:
        for path in paths:
            await request(f"{url}{path}")
        await until(pilot, lambda: all(any(p in r for r in table_rows(ui)) for p in paths))
        for row in range(len(paths)):
            await pilot.press("j" if row else "g")
            for tab in "mstx":
                await pilot.press(tab)
                await pilot.pause()
        assert ui.is_running and "/fine" in screen_text(ui)

    run_live(app, check)


def test_render_never_raises_on_numbers_python_will_not_print() -> None:
    assert "digits" in safe_repr(10**5000)
    assert "\x1b" not in value_text(10**5000).plain
    assert "\x1b" not in value_text(EvilInt(7)).plain and "\\x1b" in value_text(EvilInt(7)).plain
    assert value_text(-(10**5000)).plain.startswith("<int")
