"""A session recorded live and reopened (``asgi-scope open``) shows the same
screens: the same exchanges, and the same Messages, Scope, Hex and Timeline tabs.

The live half is the real server on 127.0.0.1 with the FastAPI test app and
real httpx requests, in the ScopeApp with a capture writer tapped on its
recorder, as ``asgi-scope --record`` runs it.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx

from asgi_scope.config import Config
from asgi_scope.server.runner import Server
from asgi_scope.session import LoopThread
from asgi_scope.trace.capture import Capture, CaptureWriter, Header, Playback, read_capture
from asgi_scope.trace.recorder import Recorder
from asgi_scope.ui.app import ScopeApp
from asgi_scope.ui.components.exchanges import ExchangeTable
from tests.ui.conftest import screen_text, settle
from tests.ui.test_app import detail_text, message_rows, select_message, table_rows
from tests.ui.test_live import until

SIZE = (130, 45)
TABS = ("m", "s", "x", "t")
VIEWS = {"s": "scope", "x": "hex", "t": "timeline"}


async def screens(ui: ScopeApp, pilot: Any) -> dict[tuple[str, str], str]:
    """What every tab shows for every exchange row: the cells of the exchange and
    message tables and the message detail (tables that grew live may size their
    columns differently from tables built at once; their content may not), and
    the screen region of the Scope, Hex and Timeline views."""
    table = ui.query_one(ExchangeTable)
    out = {("all", "rows"): "\n".join(table_rows(ui))}
    for row in range(table.row_count):
        table.move_cursor(row=row)
        await settle(ui, pilot)
        for tab in TABS:
            await pilot.press(tab)
            await settle(ui, pilot)
            if tab == "m":
                await select_message(ui, pilot, "http.response.start")
                await settle(ui, pilot)
                text = "\n".join(message_rows(ui)) + "\n" + detail_text(ui)
            else:
                region = ui.query_one(f"#{VIEWS[tab]}").region
                lines = screen_text(ui).splitlines()[region.y : region.bottom]
                text = "\n".join(line[region.x : region.right] for line in lines)
            out[(str(row), tab)] = text
    return out


def test_a_recorded_session_reopens_with_the_same_screens(tmp_path: Path) -> None:
    from tests.apps.fastapi_app import app  # lazily: tests/cli forgets tests.apps modules

    path = tmp_path / "session.jsonl"
    recorder = Recorder()
    server = LoopThread(
        Server(Config(port=0, lifespan="off", timeout_graceful_shutdown=2.0), app, recorder)
    )
    server.start()
    writer = CaptureWriter(path, Header("tests.apps.fastapi_app:app", 0, {"max_body": 1 << 20}))
    recorder.taps.append(writer)
    ui = ScopeApp(recorder, app_name="test", url=server.url)
    live: dict[tuple[str, str], str] = {}

    async def record() -> None:
        async with ui.run_test(size=SIZE) as pilot:
            close = {"connection": "close"}

            def send() -> None:
                with httpx.Client(base_url=server.url, timeout=5, headers=close) as client:
                    client.get("/items/7", params={"q": "x"})
                    client.post("/user", json={"name": "Ada", "age": 36})
                    client.get("/stream")
                    client.get("/boom")

            await asyncio.to_thread(send)
            store = ui.store
            await until(
                pilot,
                lambda: (
                    len(store.connections) == 4
                    and all(c.t_close is not None for c in store.connections.values())
                ),
            )
            await settle(ui, pilot)
            live.update(await screens(ui, pilot))

    try:
        asyncio.run(record())
    finally:
        writer.close()
        server.stop(5)

    reopened = ScopeApp(Playback(read_capture(path)), app_name="test", url=server.url)
    again: dict[tuple[str, str], str] = {}

    async def reopen() -> None:
        async with reopened.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: len(reopened.store.connections) == 4)
            await settle(reopened, pilot)
            again.update(await screens(reopened, pilot))

    asyncio.run(reopen())
    assert len(live) == 1 + 4 * len(TABS)
    for key, screen in live.items():
        assert again[key] == screen, f"exchange row {key[0]}, tab {key[1]}"
    shown = {tab: "".join(v for k, v in again.items() if k[1] == tab) for tab in TABS}
    assert "RuntimeError" in shown["m"] and "/items/7" in again[("all", "rows")]
    assert "'type'" in shown["s"] or "type" in shown["s"]
    assert "GET /items" in shown["x"] and "HTTP/1.1 200" in shown["x"]
    assert shown["t"].strip()


def test_a_capture_s_running_times_stand_at_its_end() -> None:
    """A capture opened (no server): the lifespan that had not ended shows its time
    up to the capture's last event as "at least" (≥), never as running (…), and it
    stays so however long the capture is looked at; q just quits."""
    from asgi_scope.ui import app as ui_app
    from tests.ui.fake_traffic import standard_trace

    traffic = standard_trace()
    traffic.recorder.advance(89_000)
    traffic.note("saved")  # the capture's last event, 1m29s after the lifespan's start
    capture = Capture(Header("demo:app", 0, {}), traffic.recorder.drain())
    ui = ScopeApp(Playback(capture), app_name="demo:app", url="session.jsonl")

    async def main() -> None:
        async with ui.run_test(size=SIZE) as pilot:
            await pilot.pause()
            first = table_rows(ui)[0]
            assert "lifespan" in first and "≥1m29s" in first and "…" not in first, first
            await pilot.pause(3 * ui_app.RUNNING_EVERY * ui_app.TICK)  # idle ticks
            assert table_rows(ui)[0] == first
            assert "≥1m29s" in screen_text(ui).splitlines()[2]
            assert next(a for a in ui.described_actions() if a.id == "app.quit").help == "Quit"

    asyncio.run(main())


def test_a_capture_opened_says_nothing_of_listening_or_following() -> None:
    """Nothing listens and nothing comes in a capture: the header has no follow
    (or paused) and the notes bar never repeats the recorded "listening on";
    the notes panel still lists it, as history; a recorded warning still shows."""
    from tests.ui.fake_traffic import standard_trace

    traffic = standard_trace()
    traffic.note("listening on http://127.0.0.1:8000")
    capture = Capture(Header("demo:app", 0, {}), traffic.recorder.drain())
    ui = ScopeApp(Playback(capture), app_name="demo:app", url="session.jsonl")

    async def main() -> None:
        async with ui.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: bool(table_rows(ui)))
            await settle(ui, pilot)
            screen = screen_text(ui)
            assert "follow" not in screen.splitlines()[0] and "paused" not in screen
            assert "listening" not in screen and "recorded notes:" in screen
            await pilot.press("l")
            await until(pilot, lambda: "listening on" in screen_text(ui))

    asyncio.run(main())
