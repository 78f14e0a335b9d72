"""Free-text search in the Messages tab reads the whole stored body, not the part
the detail renders: the real server, the demo app's echo, a needle past the cut."""

from __future__ import annotations

from typing import Any

from asgi_scope.demo import app as demo_app
from asgi_scope.ui.app import ScopeApp
from asgi_scope.ui.render import MAX_VALUE
from asgi_scope.ui.screens.search import SearchScreen
from asgi_scope.ui.search import find
from tests.ui.test_app import detail_text, message_rows, table_rows
from tests.ui.test_live import get, run_live, until

BODY = b"hay " * 2250 + b"the NEEDLE" + b" hay" * 10  # the needle at byte 9000


async def search(ui: ScopeApp, pilot: Any, term: str) -> None:
    await pilot.press("ctrl+f")
    await pilot.pause()
    assert isinstance(ui.screen, SearchScreen)
    field = ui.screen.query_one("#search-input")
    field.value = term
    await pilot.press("enter")
    await pilot.pause()


def selected_type(ui: ScopeApp) -> str:
    table = ui.query_one("#message-list")
    return str(table.get_row_at(table.cursor_row)[2])


def test_search_finds_a_word_past_the_rendered_cut_and_walks_the_matches() -> None:
    assert BODY.index(b"NEEDLE") > MAX_VALUE

    async def check(ui: ScopeApp, pilot: Any, url: str) -> None:
        await get(f"{url}/echo", method="POST", content=BODY)
        await until(pilot, lambda: any("/echo" in r and "done" in r for r in table_rows(ui)))
        await until(pilot, lambda: any("app returned" in r for r in message_rows(ui)))
        await search(ui, pilot, "needle")
        assert selected_type(ui) == "http.request"
        text = detail_text(ui)
        assert "1 match for needle in the full stored message" in text
        assert "body @9004: …" in text and "NEEDLE" in text
        assert text.startswith("1 match for needle")  # on top, in view
        assert text.count("NEEDLE") == 1  # in the snippet: the rendered body is cut
        await search(ui, pilot, "needle")  # again: the next message that has it
        assert selected_type(ui) == "http.response.body"
        assert "body @9004" in detail_text(ui)
        await search(ui, pilot, "needle")  # and round again
        assert selected_type(ui) == "http.request"
        await search(ui, pilot, "no such thing")
        said = "No message contains 'no such thing'"
        await until(pilot, lambda: any(n.message == said for n in ui._notifications))

    run_live(demo_app, check)


def test_find_reads_headers_and_bodies_case_insensitively() -> None:
    message = {
        "type": "http.response.start",
        "status": 200,
        "headers": [(b"content-type", b"Text/HTML")],
    }
    hits = find(message, "text/html")
    assert [(h.where, h.offset) for h in hits] == [("headers[0][1]", 0)]
    assert find({"type": "websocket.send", "text": "aXa xa"}, "XA")[1].offset == 4
    assert find(None, "x") == [] and find(message, "") == []
