"""The TUI on a real server whose app blocks the event loop: the UI stays
responsive (it runs on its own loop), the watchdog's warning is notified and
listed in the notes, naming the exchange."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from asgi_scope.ui.app import ScopeApp
from tests.live import read_body, respond
from tests.ui.conftest import screen_text
from tests.ui.test_live import get, run_live, until


async def blocking_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    await read_body(receive)
    if scope["path"] == "/block":
        time.sleep(1.0)
    await respond(send, b"ok")


def test_a_blocked_server_loop_is_notified_naming_the_exchange() -> None:
    async def check(ui: ScopeApp, pilot: Any, url: str) -> None:
        request = asyncio.ensure_future(get(f"{url}/block"))
        await pilot.pause(0.5)  # the server is blocked; the UI still renders
        assert not request.done()
        assert (await request).text == "ok"
        notes = ui.store.notes
        await until(pilot, lambda: any("event loop was blocked" in n.text for n in notes))
        await until(pilot, lambda: "event loop was blocked" in screen_text(ui))
        (note,) = [n for n in notes if "blocked" in n.text]
        assert note.level == "warning" and "GET /block" in note.text

    run_live(blocking_app, check)
