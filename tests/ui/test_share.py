"""The inspector's save, export, curl, pytest and re-send keys, on the real
server with real requests: files written and read back, the re-sent request
appearing as a new exchange beside the old one."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx

from asgi_scope.config import Config
from asgi_scope.server.runner import Server
from asgi_scope.session import LoopThread
from asgi_scope.trace.capture import Header, Playback, read_capture
from asgi_scope.trace.recorder import Recorder
from asgi_scope.ui.app import ScopeApp
from asgi_scope.ui.components.exchanges import ExchangeTable
from asgi_scope.ui.screens.share import PathScreen, ResendScreen, TextScreen
from tests.ui.test_app import select_exchange, table_rows
from tests.ui.test_live import until

SIZE = (130, 45)


def run_shared(check: Any, header: Header | None = None) -> None:
    from tests.apps.exports import app

    recorder = Recorder()
    server = LoopThread(
        Server(Config(port=0, lifespan="off", timeout_graceful_shutdown=2.0), app, recorder)
    )
    server.start()
    header = header or Header("tests.apps.exports:app", 0, {"max_body": 1 << 20})
    ui = ScopeApp(
        recorder, app_name="t", url=server.url, on_quit=None, header=header, resend_url=server.url
    )

    async def main() -> None:
        async with ui.run_test(size=SIZE, notifications=True) as pilot:

            def send() -> None:
                with httpx.Client(base_url=server.url, timeout=5) as client:
                    client.get("/json", params={"q": "1"})
                    client.post("/echo", content=b"hello", headers={"authorization": "Bearer s3"})

            await asyncio.to_thread(send)
            await until(pilot, lambda: sum("done" in r for r in table_rows(ui)) >= 2)
            # The client has hung up: wait for the server to record it, so the
            # store holds no more events than a save made now.
            await until(
                pilot, lambda: any(type(e).__name__ == "ConnectionClosed" for e in ui.store.events)
            )
            await check(ui, pilot)

    try:
        asyncio.run(main())
    finally:
        server.stop(5)


async def select(ui: ScopeApp, pilot: Any, method: str, path: str) -> int:
    exchange = next(e for e in ui.store.exchanges.values() if e.method == method and e.path == path)
    await select_exchange(ui, pilot, exchange.id)
    ui.action_toggle_follow() if ui.follow else None
    return exchange.id


def test_curl_and_pytest_are_shown_redacted_and_credentials_on_demand() -> None:
    async def check(ui: ScopeApp, pilot: Any) -> None:
        await select(ui, pilot, "POST", "/echo")
        await pilot.press("u")
        await until(pilot, lambda: isinstance(ui.screen, TextScreen))
        screen = ui.screen
        assert isinstance(screen, TextScreen)
        assert screen.text.startswith("curl --http1.1") and "[REDACTED]" in screen.text
        assert "s3" not in screen.text.replace("s3cr", "")
        await pilot.press("a")
        assert "'authorization: Bearer s3'" in screen.text
        await pilot.press("escape")
        await pilot.press("b")
        await until(pilot, lambda: isinstance(ui.screen, TextScreen))
        raw = ui.screen.text  # type: ignore[attr-defined]
        assert raw.startswith("POST /echo HTTP/1.1\r\n") and raw.endswith("\r\n\r\nhello")
        assert "authorization: [REDACTED]\r\n" in raw and "Cookie: [REDACTED]\r\n" in raw
        await pilot.press("escape")
        await pilot.press("y")
        await until(pilot, lambda: isinstance(ui.screen, TextScreen))
        assert "def test_post_echo_" in ui.screen.text  # type: ignore[attr-defined]
        assert "from tests.apps.exports import app" in ui.screen.text  # type: ignore[attr-defined]
        await pilot.press("escape")

    run_shared(check)


def test_resend_puts_a_new_exchange_beside_the_old_one() -> None:
    async def check(ui: ScopeApp, pilot: Any) -> None:
        old = await select(ui, pilot, "POST", "/echo")
        await pilot.press("r")
        await until(
            pilot, lambda: len([e for e in ui.store.exchanges.values() if e.path == "/echo"]) == 2
        )
        new = max(e.id for e in ui.store.exchanges.values() if e.path == "/echo")
        await until(pilot, lambda: ui.store.exchanges[new].state == "done")
        assert new > old and ui.store.exchanges[new].status == 201
        # Edit, then send: method, body.
        await select_exchange(ui, pilot, old)
        await pilot.press("R")
        await until(pilot, lambda: isinstance(ui.screen, ResendScreen))
        form = ui.screen
        form.query_one("#resend-method").value = "PUT"  # type: ignore[attr-defined]
        form.query_one("#resend-body").text = "edited body"  # type: ignore[attr-defined]
        await pilot.press("ctrl+s")
        await until(pilot, lambda: any(e.method == "PUT" for e in ui.store.exchanges.values()))
        put = next(e for e in ui.store.exchanges.values() if e.method == "PUT")
        await until(pilot, lambda: put.state == "done")
        bodies = [
            e.message.get("body")
            for e in put.events
            if type(e).__name__ == "MessageSent" and e.message.get("type") == "http.response.body"
        ]
        assert bodies == [b"edited body"]
        assert len(ui.query_one(ExchangeTable).rows) >= 4

    run_shared(check)


def test_save_and_export_write_files_that_read_back(tmp_path: Path) -> None:
    capture, har_path, one = tmp_path / "s.jsonl", tmp_path / "s.har", tmp_path / "one.jsonl"

    async def answer(pilot: Any, ui: ScopeApp, key: str, path: Path) -> None:
        notes = notes_of(ui)
        await pilot.press(key)
        await until(pilot, lambda: isinstance(ui.screen, PathScreen))
        ui.screen.query_one("#share-path").value = str(path)  # type: ignore[attr-defined]
        await pilot.press("enter")
        await until(pilot, lambda: any(n.startswith("Wrote ") and str(path) in n for n in notes))

    async def check(ui: ScopeApp, pilot: Any) -> None:
        before = [e.seq for e in ui.store.events]
        await answer(pilot, ui, "w", capture)
        # What the store held when saved (at least what it held before w was
        # pressed); later events, a watchdog note on a loaded machine, are not in it.
        saved = [e.seq for e in read_capture(capture).events]
        assert saved == [e.seq for e in ui.store.events][: len(saved)]
        assert len(saved) >= len(before)
        await answer(pilot, ui, "e", har_path)
        chosen = await select(ui, pilot, "GET", "/json")
        await answer(pilot, ui, "W", one)
        saved = read_capture(one)
        assert {getattr(e, "exchange", chosen) for e in saved.events} == {chosen}
        entries = json.loads(har_path.read_text())["log"]["entries"]
        assert [e["request"]["method"] for e in entries] == ["GET", "POST"]
        assert "Bearer s3" not in har_path.read_text()

    run_shared(check)


def test_a_reopened_capture_has_no_server_to_resend_to(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"

    async def save(ui: ScopeApp, pilot: Any) -> None:
        notes = notes_of(ui)
        await pilot.press("w")
        await until(pilot, lambda: isinstance(ui.screen, PathScreen))
        ui.screen.query_one("#share-path").value = str(path)  # type: ignore[attr-defined]
        await pilot.press("enter")
        await until(pilot, lambda: any(n.startswith(f"Wrote the session to {path}") for n in notes))

    run_shared(save)
    reopened = ScopeApp(Playback(read_capture(path)), app_name="t", url=str(path))  # type: ignore[arg-type]
    notes: list[str] = []

    async def main() -> None:
        async with reopened.run_test(size=SIZE) as pilot:
            await pilot.pause()
            reopened.notify = lambda message, **_: notes.append(str(message))  # type: ignore[method-assign]
            await pilot.press("r")
            await pilot.pause()
            await pilot.press("u")
            await until(pilot, lambda: isinstance(reopened.screen, TextScreen))

    asyncio.run(main())
    assert any("No server is running" in n for n in notes)


def notes_of(ui: ScopeApp) -> list[str]:
    """Every notification the app shows from now on (shown too, markup and all)."""
    notes: list[str] = []
    notify = ui.notify

    def record(message: str, **kwargs: Any) -> None:
        notes.append(str(message))
        notify(message, **kwargs)

    ui.notify = record  # type: ignore[method-assign]
    return notes


async def export_to(ui: ScopeApp, pilot: Any, key: str, path: str) -> None:
    await pilot.press(key)
    await until(pilot, lambda: isinstance(ui.screen, PathScreen))
    ui.screen.query_one("#share-path").value = path  # type: ignore[attr-defined]
    await pilot.press("enter")


def test_a_path_that_cannot_be_written_is_shown_as_typed_not_as_markup(tmp_path: Path) -> None:
    """The typed path is in the error notification: ``[/]`` must not be read as a
    closing tag (Textual would raise MarkupError when it shows the toast)."""
    bad = str(tmp_path / "no such dir" / "[/]x[bold].har")

    async def check(ui: ScopeApp, pilot: Any) -> None:
        notes = notes_of(ui)
        await export_to(ui, pilot, "e", bad)
        await until(pilot, lambda: any("Could not write" in n for n in notes))
        await pilot.pause(0.3)  # the toast is rendered
        assert any("[/]x[bold].har" in n for n in notes), notes
        assert ui.is_running

    run_shared(check)


def test_a_har_the_exporter_cannot_build_is_a_notification_not_a_crash(tmp_path: Path) -> None:
    """A capture header with a start time far outside what a date can hold: the
    HAR is built in the worker, and its failure is reported."""
    path = tmp_path / "s.har"
    header = Header("tests.apps.exports:app", 10**30, {"max_body": 1 << 20})

    async def check(ui: ScopeApp, pilot: Any) -> None:
        notes = notes_of(ui)
        await export_to(ui, pilot, "e", str(path))
        await until(pilot, lambda: any("Could not write" in n for n in notes))
        await pilot.pause(0.3)
        assert ui.is_running
        await export_to(ui, pilot, "w", str(tmp_path / "still.jsonl"))
        await until(pilot, (tmp_path / "still.jsonl").exists)

    run_shared(check, header)


def test_a_request_with_control_bytes_is_not_put_in_the_edit_form() -> None:
    """Input and TextArea would write ESC and C1 bytes to the terminal raw: R
    refuses such a request (and says r re-sends it unchanged)."""

    async def check(ui: ScopeApp, pilot: Any) -> None:
        def send() -> None:
            with httpx.Client(base_url=ui.resend_url or "", timeout=5) as client:
                client.post("/echo/esc", content=b"\x1b]52;c;SGk=\x07")
                client.post("/echo/latin", content=b"\xff\xfe")
                client.post("/echo/c1", content=b"ok", headers={"x-c1": b"a\x9b31mb"})

        await asyncio.to_thread(send)
        await until(pilot, lambda: sum("done" in r for r in table_rows(ui)) >= 5)
        notes = notes_of(ui)
        for path in ("/echo/esc", "/echo/latin", "/echo/c1"):
            await select(ui, pilot, "POST", path)
            await pilot.press("R")
            # (a loaded machine may add a watchdog note of its own)
            await until(pilot, lambda: any("Cannot edit this request" in n for n in notes))
            await pilot.pause()
            assert not isinstance(ui.screen, ResendScreen), path
            refused = [n for n in notes if "Cannot edit this request" in n]
            assert len(refused) == 1 and "r to re-send" in refused[0], notes
            notes.clear()
        await select(ui, pilot, "POST", "/echo")
        await pilot.press("R")
        await until(pilot, lambda: isinstance(ui.screen, ResendScreen))

    run_shared(check)
