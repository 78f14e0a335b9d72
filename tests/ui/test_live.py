"""The ScopeApp on real traffic: the real server on 127.0.0.1 in its own thread
(as ``asgi-scope`` runs it), real apps, real requests from httpx and raw sockets.
"""

from __future__ import annotations

import asyncio
import re
import socket
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from asgi_scope.config import Config
from asgi_scope.demo import app as demo_app
from asgi_scope.server.runner import Server
from asgi_scope.session import LoopThread
from asgi_scope.trace.recorder import Recorder
from asgi_scope.ui.app import ScopeApp
from tests.ui.conftest import screen_text
from tests.ui.test_app import detail_text, message_rows, select_message, table_rows

Check = Callable[[ScopeApp, Any, str], Awaitable[None]]


def run_live(app: Any, check: Check, size: tuple[int, int] = (120, 40)) -> None:
    """Serve ``app`` for real, show it in a ScopeApp, and run ``check(ui, pilot, url)``."""
    recorder = Recorder()
    server = LoopThread(Server(Config(port=0, timeout_graceful_shutdown=2.0), app, recorder))
    server.start()
    ui = ScopeApp(recorder, app_name="test", url=server.url, on_quit=server.stop)

    async def main() -> None:
        async with ui.run_test(size=size) as pilot:
            await check(ui, pilot, server.url)

    try:
        asyncio.run(main())
    finally:
        server.stop(5)


def notes_panel(ui: ScopeApp) -> str:
    """The whole text of the open notes panel (``l``), scrolled or not; "" when
    it is not open."""
    found = ui.screen.query("#notes-text")
    return str(getattr(found.first().content, "plain", found.first().content)) if found else ""


async def until(pilot: Any, predicate: Callable[[], bool], timeout: float = 20) -> None:
    """Let the UI drain until ``predicate()`` holds; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "the UI never showed it"
        await pilot.pause(0.05)


async def get(url: str, **kwargs: Any) -> httpx.Response:
    return await asyncio.to_thread(httpx.request, kwargs.pop("method", "GET"), url, **kwargs)


def test_real_requests_appear_as_rows_with_status_and_state() -> None:
    async def check(ui: ScopeApp, pilot: Any, url: str) -> None:
        assert (await get(f"{url}/")).status_code == 200
        assert (await get(f"{url}/echo", method="POST", content=b"hi")).text == "hi"
        # A row is drawn when its request arrives, its status on a later drain.
        await until(
            pilot,
            lambda: any("POST" in r and "/echo" in r and "200" in r for r in table_rows(ui)),
        )
        rows = table_rows(ui)
        assert any("GET" in r and " / " in f" {r} " and "200" in r and "done" in r for r in rows)

    run_live(demo_app, check)


def test_messages_of_a_real_post_in_order_with_the_body() -> None:
    async def check(ui: ScopeApp, pilot: Any, url: str) -> None:
        await get(f"{url}/echo", method="POST", content=b"hello asgi")
        await until(pilot, lambda: any("/echo" in r and "done" in r for r in table_rows(ui)))
        await pilot.press("m")
        await until(pilot, lambda: any("app returned" in r for r in message_rows(ui)))
        rows = message_rows(ui)
        expected = ["scope", "http.request", "http.response.start", "http.response.body"]
        first = [next(i for i, row in enumerate(rows) if kind in row) for kind in expected]
        assert first == sorted(first), rows
        await select_message(ui, pilot, "http.request")
        assert "b'hello asgi'" in detail_text(ui)

    run_live(demo_app, check)


def test_a_failing_route_shows_500_and_its_traceback() -> None:
    async def check(ui: ScopeApp, pilot: Any, url: str) -> None:
        assert (await get(f"{url}/error")).status_code == 500
        await until(pilot, lambda: any("/error" in r and "500" in r for r in table_rows(ui)))
        await until(pilot, lambda: any("app raised" in r for r in message_rows(ui)))
        await select_message(ui, pilot, "app raised")
        assert "RuntimeError" in detail_text(ui)
        assert "Traceback (most recent call last):" in detail_text(ui)

    run_live(demo_app, check)


def test_a_malformed_request_is_an_exchange_and_the_ui_keeps_running() -> None:
    async def check(ui: ScopeApp, pilot: Any, url: str) -> None:
        port = int(url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(b"GARBAGE\r\n\r\n")
            assert sock.recv(4096).startswith(b"HTTP/1.1 400 ")
        await until(pilot, lambda: any("400" in r for r in table_rows(ui)))
        await pilot.press("x")
        await until(pilot, lambda: "GARBAGE" in screen_text(ui))
        assert (await get(f"{url}/")).status_code == 200
        await until(pilot, lambda: any("GET" in r and "200" in r for r in table_rows(ui)))

    run_live(demo_app, check)


def test_hostile_path_and_header_from_the_network_show_escaped() -> None:
    async def check(ui: ScopeApp, pilot: Any, url: str) -> None:
        port = int(url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(
                b"GET /[bold]x[/] HTTP/1.1\r\nhost: x\r\nx-evil: \x1b]52;c;SGk=\x07\r\n"
                b"connection: close\r\n\r\n"
            )
            sock.recv(65536)
        await until(pilot, lambda: any("/[bold]x[/]" in r for r in table_rows(ui)))
        await pilot.press("s")
        await until(pilot, lambda: "x-evil" in screen_text(ui))
        for tab in "msxt":
            await pilot.press(tab)
            await pilot.pause(0.1)
            text = screen_text(ui)
            assert "\x1b" not in text and "\x07" not in text
        assert "/[bold]x[/]" in screen_text(ui)

    run_live(demo_app, check)


def test_quitting_stops_the_real_server() -> None:
    async def check(ui: ScopeApp, pilot: Any, url: str) -> None:
        await get(f"{url}/")
        await pilot.press("q")
        await until(pilot, lambda: not ui.is_running, timeout=10)

    recorder_url: list[str] = []

    def remember(ui: ScopeApp, pilot: Any, url: str) -> Awaitable[None]:
        recorder_url.append(url)
        return check(ui, pilot, url)

    run_live(demo_app, remember)
    port = int(recorder_url[0].rsplit(":", 1)[1])
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return
    raise AssertionError("the server still accepts connections after quitting")


def test_what_the_app_prints_shows_as_notes_escaped() -> None:
    async def printing_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        print("handling", scope["path"], "\x1b]0;title\x07")
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def check(ui: ScopeApp, pilot: Any, url: str) -> None:
        await get(f"{url}/printed")
        await until(pilot, lambda: any("handling /printed" in note.text for note in ui.store.notes))
        await pilot.press("l")  # the notes panel: every note, not only the newest line
        # An output note (the panel: time, level, exchange), its OSC escaped: never raw.
        shown = re.compile(r"output +(#\d+ )?handling /printed \\x1b\]0;title\\x07")
        await until(pilot, lambda: bool(shown.search(notes_panel(ui))))
        assert "\x1b" not in notes_panel(ui) and "\x1b" not in screen_text(ui)

    run_live(printing_app, check)


def test_the_open_notes_panel_follows_new_notes_and_keeps_a_scrolled_reader_in_place() -> None:
    async def printing_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        for i in range(60 if scope["path"] == "/many" else 1):
            print("line", i, "of", scope["path"])
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def check(ui: ScopeApp, pilot: Any, url: str) -> None:
        await get(f"{url}/many")
        await until(pilot, lambda: any("line 59 of /many" in n.text for n in ui.store.notes))
        await pilot.press("l")  # the panel opens at the newest note
        panel = ui.screen.query_one("#notes-panel")
        await until(pilot, lambda: panel.max_scroll_y > 0 and panel.scroll_y == panel.max_scroll_y)
        await get(f"{url}/first")  # a note while the panel is open: shown, at the end
        await until(pilot, lambda: "line 0 of /first" in screen_text(ui))
        await pilot.press("home")  # a reader who scrolled up keeps their place
        await until(pilot, lambda: panel.scroll_y == 0)
        await get(f"{url}/second")
        await until(pilot, lambda: "line 0 of /second" in notes_panel(ui))
        await pilot.pause()
        assert panel.scroll_y == 0 and "line 0 of /many" in screen_text(ui)
        await pilot.press("end")  # back at the end: it follows again
        await get(f"{url}/third")
        await until(pilot, lambda: "line 0 of /third" in screen_text(ui))

    run_live(printing_app, check)


def test_logging_set_up_before_the_tui_shows_as_notes_not_over_the_screen() -> None:
    """A handler bound to the terminal's stderr before the TUI started (as
    ``logging.basicConfig()`` at import does) writes into the notes, escaped,
    while the TUI runs, and to the terminal again after."""
    import logging
    import sys

    from asgi_scope.ui.app import logging_follows_stdio

    logger = logging.getLogger("tests.ui.logging_app")
    handler = logging.StreamHandler(sys.__stderr__)
    logger.addHandler(handler)
    logger.propagate = False

    async def logging_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            logger.warning("handling %s \x1b]0;title\x07", scope["path"])
            await send({"type": "http.response.start", "status": 204, "headers": []})
            await send({"type": "http.response.body", "body": b""})

    async def check(ui: ScopeApp, pilot: Any, url: str) -> None:
        await get(f"{url}/logged")
        await until(pilot, lambda: any("handling /logged" in note.text for note in ui.store.notes))
        await pilot.press("l")  # the notes panel: the client's own log lines come too
        shown = re.compile(r"output +(#\d+ )?handling /logged \\x1b\]0;title\\x07")
        await until(pilot, lambda: bool(shown.search(notes_panel(ui))))

    try:
        with logging_follows_stdio():
            run_live(logging_app, check)
        assert handler.stream is sys.__stderr__
    finally:
        logger.removeHandler(handler)


def test_a_long_stream_lists_what_it_kept_then_a_count_of_the_rest(monkeypatch) -> None:
    """Past the store's per-exchange cap (made 40 here), the Messages list ends
    with one row that counts the streamed events not kept, after the kept ones."""
    from asgi_scope.trace import store
    from asgi_scope.ui.components.detail import messages
    from tests.ui.test_app import message_rows, select_exchange

    monkeypatch.setattr(store, "EVENTS_KEPT", 40)
    monkeypatch.setattr(messages, "EVENTS_KEPT", 40)

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        await send({"type": "http.response.start", "status": 200, "headers": []})
        for _ in range(100):
            await send({"type": "http.response.body", "body": b"tick\n", "more_body": True})
        await send({"type": "http.response.body", "body": b""})

    async def check(ui: ScopeApp, pilot: Any, url: str) -> None:
        assert (await get(url + "/ticks")).text == "tick\n" * 100

        def ticks() -> Any:
            return next((x for x in ui.store.exchanges.values() if x.path == "/ticks"), None)

        await until(pilot, lambda: ticks() is not None and ticks().state == "done")
        exchange = ticks()
        await select_exchange(ui, pilot, exchange.id)
        await until(pilot, lambda: "not kept" in message_rows(ui)[-1])
        rows = message_rows(ui)
        assert exchange.unkept > 100  # a message and its bytes for each chunk past the cap
        assert rows[-1].endswith(f"{exchange.unkept:,} more")  # short: the detail says all
        assert "app returned complete" in rows[-2]  # the end is kept, listed before it
        await pilot.press("m", "end")  # the "not kept" row, explained in the detail
        await pilot.pause()
        assert f"{exchange.unkept:,} more events counted, not kept" in detail_text(ui)
        assert "At most 40 events are kept per exchange" in detail_text(ui)

    run_live(app, check)
