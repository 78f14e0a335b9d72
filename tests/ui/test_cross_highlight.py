"""Bytes and messages highlight each other: a real chunked response from the demo
app's /stream, the Messages list and the Hex tab driven by keys."""

from __future__ import annotations

from typing import Any

from asgi_scope.demo import app as demo_app
from asgi_scope.ui.app import ScopeApp
from asgi_scope.ui.components.detail.hex_view import HexView
from tests.ui.test_app import table_rows
from tests.ui.test_live import get, run_live, until


def selected_message(ui: ScopeApp) -> Any:
    return ui.query_one("#messages").selected


def body_messages(ui: ScopeApp) -> list[Any]:
    exchange = ui.query_one("#detail").exchange
    return [
        e
        for e in exchange.messages()
        if isinstance(e.message, dict) and e.message.get("type") == "http.response.body"
    ]


def test_a_message_lights_its_bytes_and_a_byte_selects_its_message() -> None:
    async def check(ui: ScopeApp, pilot: Any, url: str) -> None:
        await get(f"{url}/stream")
        await until(pilot, lambda: any("/stream" in r and "done" in r for r in table_rows(ui)))
        await until(pilot, lambda: len(body_messages(ui)) == 6)
        hex_view = ui.query_one(HexView)
        messages = ui.query_one("#messages")
        # Message -> bytes: the second chunk's message lights its chunk's bytes.
        second = body_messages(ui)[1]
        messages.select_seq(second.seq)
        await pilot.press("x")
        await pilot.pause()
        direction, start, end = hex_view.highlight
        assert direction == "out"
        kinds = [hex_view.part_at("out", o).kind for o in range(start, end)]
        assert kinds[0] == "chunk-size" and "chunk-data" in kinds and kinds[-1] == "chunk-end"
        assert {hex_view.part_at("out", o).index for o in range(start, end)} == {2}
        # Bytes -> message: the cursor walks the parts; each byte selects its message.
        hex_view.focus()
        await pilot.press("right")  # the cursor appears at the highlight
        assert hex_view.cursor == ("out", start)
        seen = []
        for _ in range(3):  # chunk data 2, chunk CRLF 2, chunk size 3
            await pilot.press("right_square_bracket")
            await pilot.pause()
            part = hex_view.part_at(*hex_view.cursor)
            seen.append((part.kind, part.index))
        assert seen == [("chunk-data", 2), ("chunk-end", 2), ("chunk-size", 3)]
        third = body_messages(ui)[2]
        await until(pilot, lambda: selected_message(ui) is third)
        assert hex_view.highlight[1] == hex_view.cursor[1]  # its bytes lit, from here
        # Back into the head: it came from http.response.start.
        for _ in range(7):
            await pilot.press("left_square_bracket")
        await pilot.pause()
        assert hex_view.part_at(*hex_view.cursor).kind == "head"
        await until(
            pilot, lambda: selected_message(ui).message.get("type") == "http.response.start"
        )
        # The request head is the scope's.
        await pilot.press("left_square_bracket")
        await pilot.pause()
        assert hex_view.cursor[0] == "in"
        await until(pilot, lambda: type(selected_message(ui)).__name__ == "ScopeCreated")

    run_live(demo_app, check)
