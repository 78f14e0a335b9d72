"""The filter bar and the help screen, on real traffic: the real server, the demo
app and the broken app, real requests, keys pressed through ``run_test``."""

from __future__ import annotations

import contextlib
from typing import Any

import httpx

from asgi_scope.demo import app as demo_app
from asgi_scope.ui.app import ScopeApp
from asgi_scope.ui.components.filter_bar import FilterBar
from asgi_scope.ui.palette import commands
from asgi_scope.ui.screens.help import HelpScreen
from tests.apps.broken import app as broken_app
from tests.ui.conftest import screen_text
from tests.ui.test_app import table_rows
from tests.ui.test_live import get, run_live, until


async def _type(pilot: Any, text: str) -> None:
    for char in text:
        await pilot.press({" ": "space", "~": "tilde", "'": "apostrophe"}.get(char, char))


def test_the_filter_bar_narrows_the_table_as_you_type() -> None:
    async def check(ui: ScopeApp, pilot: Any, url: str) -> None:
        await get(f"{url}/")
        await get(f"{url}/nowhere")
        await get(f"{url}/echo", method="POST", content=b"a needle")
        await until(pilot, lambda: len([r for r in table_rows(ui) if "done" in r]) >= 3)
        await pilot.press("slash")
        bar = ui.query_one(FilterBar)
        assert bar.display and ui.focused is ui.query_one("#filter-input")
        await _type(pilot, "~c 404")
        await until(pilot, lambda: len(table_rows(ui)) == 1)
        assert "/nowhere" in table_rows(ui)[0]
        await pilot.press("enter")  # back to the table; the filter stays
        assert ui.focused is ui.query_one("#exchanges")
        assert bar.display
        # New traffic is filtered too, as it arrives.
        await get(f"{url}/missing")
        await get(f"{url}/")
        await until(pilot, lambda: "requests 5" in screen_text(ui))  # it counts them all
        assert len(table_rows(ui)) == 2
        assert "/missing" in table_rows(ui)[1]
        # A body search over the stored body.
        bar.set_text("~bq needle")
        await until(pilot, lambda: len(table_rows(ui)) == 1 and "/echo" in table_rows(ui)[0])
        # Empty: everything again.
        bar.set_text("")
        await until(pilot, lambda: len(table_rows(ui)) == 6)  # the lifespan row too

    run_live(demo_app, check)


def test_a_filter_that_does_not_parse_shows_an_inline_error_and_keeps_the_last() -> None:
    async def check(ui: ScopeApp, pilot: Any, url: str) -> None:
        await get(f"{url}/")
        with contextlib.suppress(httpx.HTTPError):
            await get(f"{url}/str-body")
        await get(f"{url}/Upper")
        await until(pilot, lambda: sum("⚠" in r for r in table_rows(ui)) == 2)
        await pilot.press("slash")
        await _type(pilot, "~v")
        await until(pilot, lambda: len(table_rows(ui)) == 2)
        bar = ui.query_one(FilterBar)
        bar.set_text("~v & ~c 2x")
        await pilot.pause()
        text = screen_text(ui)
        assert "^ ~c takes 404, 4xx or 400-499, not '2x'" in text
        assert "(the last good filter stays applied)" in text
        assert len(table_rows(ui)) == 2  # ~v still applies
        bar.set_text("~v & ~c 2xx & !~e")
        await until(pilot, lambda: len(table_rows(ui)) == 1)  # not /str-body: it failed
        assert "/Upper" in table_rows(ui)[0]
        assert "takes 404" not in screen_text(ui)

    run_live(broken_app, check)


def test_help_lists_every_key_and_the_filter_syntax() -> None:
    async def check(ui: ScopeApp, pilot: Any, url: str) -> None:
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(ui.screen, HelpScreen)
        text = screen_text(ui)
        for binding in ui.BINDINGS:
            assert binding.tooltip.split(":")[0][:30] in text, binding
        for words in ("~m GET", "~c 404", "~b TEXT", "has a spec violation", "X | Y"):
            assert words in text, words
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(ui.screen, HelpScreen)

    run_live(demo_app, check, size=(120, 110))


def test_the_palette_offers_filter_and_help() -> None:
    async def check(ui: ScopeApp, pilot: Any, url: str) -> None:
        titles = [c.title for c in commands(ui.described_actions())]
        assert "Filter" in titles and "Help" in titles

    run_live(demo_app, check)
