"""Step mode in the inspector, through ``App.run_test()``: the real server in its
thread, a real client waiting on a held response, keys pressed as a user would."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import httpx

from asgi_scope.config import Config
from asgi_scope.demo import app as demo_app
from asgi_scope.server.runner import Server
from asgi_scope.session import LoopThread
from asgi_scope.trace.recorder import Recorder
from asgi_scope.trace.step import Gate
from asgi_scope.ui.app import ScopeApp
from asgi_scope.ui.screens.breakpoint import BreakpointScreen
from tests.live import TIMEOUT
from tests.ui.test_app import message_rows, table_rows
from tests.ui.test_live import until


def run_stepping(
    check: Any, stepping: bool = True, size: tuple[int, int] = (120, 40), app: Any = demo_app
) -> None:
    recorder = Recorder()
    gate = Gate(stepping=stepping, now=recorder.now)
    recorder.gate = gate
    server = LoopThread(Server(Config(port=0, timeout_graceful_shutdown=2.0), app, recorder))
    server.start()
    ui = ScopeApp(recorder, app_name="test", url=server.url, on_quit=server.stop)

    async def main() -> None:
        async with ui.run_test(size=size) as pilot:
            await check(ui, pilot, server.url, gate)

    try:
        asyncio.run(main())
    finally:
        gate.continue_all()
        server.stop(5)


class Client:
    """A request in a thread, so the test can look at the UI while it waits."""

    def __init__(
        self, url: str, method: str = "GET", timeout: float = TIMEOUT, **kwargs: Any
    ) -> None:
        self.response: httpx.Response | None = None
        self.timeout = timeout
        self.thread = threading.Thread(target=self._run, args=(url, method, kwargs), daemon=True)
        self.thread.start()

    def _run(self, url: str, method: str, kwargs: dict[str, Any]) -> None:
        self.response = httpx.request(method, url, timeout=self.timeout, **kwargs)

    async def done(self) -> httpx.Response:
        await asyncio.to_thread(self.thread.join, self.timeout)
        assert self.response is not None, "the client never got its response"
        return self.response


def bar(ui: ScopeApp) -> str:
    return str(ui.query_one("#step-bar").content)


def test_space_steps_a_held_exchange_message_by_message() -> None:
    async def check(ui: ScopeApp, pilot: Any, url: str, gate: Gate) -> None:
        client = Client(f"{url}/echo", "POST", content=b"hello")
        await until(pilot, lambda: "held" in bar(ui))
        assert "▮▮ #" in bar(ui)
        assert "server → app  http.request  5 B b'hello'" in bar(ui)
        assert "on step, the app's receive() returns it" in bar(ui)
        assert any("/echo" in r for r in table_rows(ui))  # what has happened: the scope
        assert not any("http.request" in r for r in message_rows(ui))  # not yet
        await pilot.press("space")
        await until(pilot, lambda: "http.response.start" in bar(ui))
        assert "on step, the server writes the status line and headers" in bar(ui)
        assert any("http.request" in r for r in message_rows(ui))  # it happened
        await asyncio.sleep(0.2)
        assert client.response is None  # the client simply waits
        await pilot.press("space")
        await until(pilot, lambda: "http.response.body" in bar(ui))
        assert "and ends the response" in bar(ui)
        await pilot.press("space")
        response = await client.done()
        assert response.status_code == 200 and response.text == "hello"
        await until(pilot, lambda: "will wait here" in bar(ui))  # nothing held now

    run_stepping(check)


def test_continue_and_continue_all_and_the_step_key() -> None:
    async def check(ui: ScopeApp, pilot: Any, url: str, gate: Gate) -> None:
        assert not ui.query_one("#step-bar").display  # off: no bar
        await pilot.press("S")
        await until(pilot, lambda: ui.query_one("#step-bar").display)
        assert gate.stepping and "will wait here" in bar(ui)
        first = Client(f"{url}/")
        await until(pilot, lambda: "held" in bar(ui))
        await pilot.press("C")  # continue this exchange
        assert (await first.done()).status_code == 200
        second = Client(f"{url}/json")
        await until(pilot, lambda: "held" in bar(ui))
        await pilot.press("G")  # continue all: step mode off
        assert (await second.done()).status_code == 200
        await until(pilot, lambda: not ui.query_one("#step-bar").display)
        assert not gate.stepping

    run_stepping(check, stepping=False)


def test_a_breakpoint_holds_only_what_matches() -> None:
    async def check(ui: ScopeApp, pilot: Any, url: str, gate: Gate) -> None:
        await pilot.press("B")
        await pilot.pause()
        assert isinstance(ui.screen, BreakpointScreen)
        field = ui.screen.query_one("#breakpoint-input")
        field.value = "~m '('"
        await pilot.pause()
        error = ui.screen.query_one("#breakpoint-error")
        assert "bad regular expression" in str(error.content)
        await pilot.press("enter")  # refused: the error stays
        assert isinstance(ui.screen, BreakpointScreen)
        field.value = "~m POST"
        await pilot.press("enter")
        await pilot.pause()
        assert gate.stepping and gate.breakpoint is not None
        assert "matching the breakpoint" in bar(ui)
        plain = await asyncio.to_thread(httpx.get, f"{url}/", timeout=TIMEOUT)
        assert plain.status_code == 200  # not held
        held = Client(f"{url}/echo", "POST", content=b"x")
        await until(pilot, lambda: "held" in bar(ui))
        await pilot.press("G")
        assert (await held.done()).text == "x"

    run_stepping(check, stepping=False)


def test_quitting_while_held_does_not_hang() -> None:
    async def check(ui: ScopeApp, pilot: Any, url: str, gate: Gate) -> None:
        client = Client(f"{url}/")
        await until(pilot, lambda: "held" in bar(ui))
        await pilot.press("q")
        await client.done()  # released by quitting, answered before the server stopped

    run_stepping(check)
