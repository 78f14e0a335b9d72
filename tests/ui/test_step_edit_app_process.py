"""Step mode's edits and the composer across the process boundary, as
``asgi-scope run`` has them: the app in its app process (the Supervisor), the
inspector's gate a mirror whose every edit, drop, compose and breakpoint is a
command; the Starlette WebSocket echo, a real client, ``App.run_test()``."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from textual.widgets import TextArea

from asgi_scope.config import Config
from asgi_scope.server.supervisor import Supervisor
from asgi_scope.session import LoopThread
from asgi_scope.trace.channel import RelayRecorder
from asgi_scope.trace.events import MessageReceived, MessageSent
from asgi_scope.ui.app import ScopeApp
from asgi_scope.ui.screens.breakpoint import BreakpointScreen
from asgi_scope.ui.screens.editor import EditorScreen
from tests.ui.test_app import select_exchange
from tests.ui.test_live import until
from tests.ui.test_step_edit_ui import PATIENCE, Socket, edit_to, events, held
from tests.ui.test_step_ui import bar


def run_app_process(check: Any, break_: str | None = None) -> None:
    config = Config(app="tests.apps.ws_echo:app", port=0, timeout_graceful_shutdown=2.0)
    server = Supervisor(config, RelayRecorder(), gate=True, break_=break_)
    thread = LoopThread(server)
    thread.start()
    ui = ScopeApp(server.recorder, app_name="test", url=thread.url, on_quit=thread.stop)

    async def main() -> None:
        async with ui.run_test(size=(120, 40)) as pilot:
            await check(ui, pilot, thread.url)

    try:
        asyncio.run(main())
    finally:
        if server.gate is not None:
            server.gate.continue_all()
        thread.stop(10)


def test_the_composer_reaches_the_app_in_its_process() -> None:
    async def check(ui: ScopeApp, pilot: Any, url: str) -> None:
        client = Socket(url, ["hi"], answers=2)
        answer = {"type": "websocket.send", "text": "echo: hi"}
        await until(pilot, lambda: events(ui, MessageSent, message=answer), PATIENCE)
        exchange = next(x for x in ui.store.exchanges.values() if x.kind == "websocket")
        await select_exchange(ui, pilot, exchange.id)
        await pilot.press("I")
        await until(pilot, lambda: isinstance(ui.screen, EditorScreen), PATIENCE)
        await edit_to(pilot, "composed")
        assert await client.done() == ["echo: hi", "echo: composed"]
        await until(pilot, lambda: events(ui, MessageReceived, user="composed"), PATIENCE)
        reply = {"type": "websocket.send", "text": "echo: composed"}
        await until(pilot, lambda: events(ui, MessageSent, message=reply), PATIENCE)

    run_app_process(check)


def test_a_break_filter_holds_the_websocket_only_and_its_answer_is_edited() -> None:
    async def check(ui: ScopeApp, pilot: Any, url: str) -> None:
        plain = await asyncio.to_thread(httpx.get, f"{url}/", timeout=PATIENCE)
        assert plain.text == "ws echo"  # --break ~p /ws: not held
        client = Socket(url, ["hi"], answers=1)
        await held(pilot, ui.gate, "websocket.connect")
        await pilot.press("space")
        await held(pilot, ui.gate, "websocket.accept")
        await pilot.press("space")
        await held(pilot, ui.gate, "websocket.receive")
        await pilot.press("space")
        await held(pilot, ui.gate, "websocket.send")
        await pilot.press("M")
        await until(pilot, lambda: isinstance(ui.screen, EditorScreen), PATIENCE)
        assert ui.screen.query_one(TextArea).text == "echo: hi"
        await edit_to(pilot, "edited in the inspector")
        await until(pilot, lambda: events(ui, MessageSent, user="edited"), PATIENCE)
        await pilot.press("G")
        assert await client.done() == ["edited in the inspector"]
        (sent,) = events(ui, MessageSent, user="edited")
        assert sent.original == {"type": "websocket.send", "text": "echo: hi"}

    run_app_process(check, break_="~p /ws")


def test_b_sets_a_breakpoint_in_the_app_process() -> None:
    async def check(ui: ScopeApp, pilot: Any, url: str) -> None:
        await pilot.press("B")
        await until(pilot, lambda: isinstance(ui.screen, BreakpointScreen), PATIENCE)
        ui.screen.query_one("#breakpoint-input").value = "~p /ws"
        await pilot.press("enter")
        await until(pilot, lambda: not isinstance(ui.screen, BreakpointScreen), PATIENCE)
        # The app process says it steps with a breakpoint (its "held" frame: the
        # mirror's breakpoint is only ever set from one).
        gate = ui.gate
        await until(pilot, lambda: gate.stepping and gate.breakpoint is not None, PATIENCE)
        await until(pilot, lambda: "matching the breakpoint" in bar(ui), PATIENCE)
        plain = await asyncio.to_thread(httpx.get, f"{url}/", timeout=PATIENCE)
        assert plain.text == "ws echo"  # not held
        client = Socket(url, ["hi"], answers=1)
        await held(pilot, ui.gate, "websocket.connect")
        await pilot.press("G")
        assert await client.done() == ["echo: hi"]

    run_app_process(check)
