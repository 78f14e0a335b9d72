"""The TUI on a real server whose app misbehaves. An app that blocks the event
loop: the UI stays responsive (it runs on its own loop), the watchdog's
warning is notified and listed in the notes, naming the exchange. An app that
never answers: its exchange shows as open, and stays open while the app runs."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from typing import Any

import httpx

from asgi_scope.ui.app import ScopeApp
from tests.live import TIMEOUT, read_body, respond
from tests.ui.conftest import screen_text
from tests.ui.test_app import table_rows
from tests.ui.test_live import get, run_live, until

BLOCKING = threading.Event()  # the app blocks its loop from here...
RELEASE = threading.Event()  # ...until this is set


async def blocking_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    await read_body(receive)
    if scope["path"] == "/block":
        BLOCKING.set()
        RELEASE.wait(TIMEOUT)  # sync, inside async code: the server's loop stops
    await respond(send, b"ok")


def test_a_blocked_server_loop_is_notified_naming_the_exchange() -> None:
    BLOCKING.clear()
    RELEASE.clear()

    async def check(ui: ScopeApp, pilot: Any, url: str) -> None:
        request = asyncio.ensure_future(get(f"{url}/block"))
        await asyncio.to_thread(BLOCKING.wait, TIMEOUT)
        started = time.monotonic()
        await pilot.pause(0.7)  # the server is blocked; the UI still runs its loop
        assert time.monotonic() - started >= 0.7
        await pilot.press("j")  # and takes keys
        assert not request.done()
        RELEASE.set()  # blocked 0.7 s at least: past the watchdog's 0.5 s
        assert (await request).text == "ok"
        notes = ui.store.notes

        def naming_block() -> list[Any]:  # a loaded machine may add warnings of its own
            blocked = [n for n in notes if "event loop was blocked" in n.text]
            return [n for n in blocked if "GET /block" in n.text]

        await until(pilot, lambda: bool(naming_block()))
        await until(pilot, lambda: "event loop was blocked" in screen_text(ui))
        assert all(note.level == "warning" for note in naming_block())

    run_live(blocking_app, check)


async def never_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "http":
        await asyncio.Event().wait()  # never answers


def test_an_exchange_the_app_never_answers_shows_open() -> None:
    async def check(ui: ScopeApp, pilot: Any, url: str) -> None:
        request = asyncio.ensure_future(get(f"{url}/never", timeout=1.0))
        await until(pilot, lambda: any("/never" in r and "open" in r for r in table_rows(ui)))
        await pilot.pause(0.5)  # still open, still shown
        assert any("/never" in r and "open" in r for r in table_rows(ui))
        with contextlib.suppress(httpx.ReadTimeout):  # the client gives up
            await request
        # The client has gone; the app is still running, so the row stays open.
        connections = ui.store.connections.values()
        await until(pilot, lambda: all(c.t_close is not None for c in connections))
        assert any("/never" in r and "open" in r for r in table_rows(ui))

    run_live(never_app, check)
