"""Editing in step mode (M, D) and the WebSocket composer (I), through
``App.run_test()``: the real server in its thread, real clients waiting on held
messages, keys pressed as a user would. Each edit is made on a message the gate
truly holds, and the next key waits until the edit has been handed over (the
store has its event)."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from textual.widgets import TextArea
from websockets.sync.client import connect

from asgi_scope.trace.events import MessageReceived, MessageSent
from asgi_scope.trace.flow import flow_of
from asgi_scope.trace.step import Gate, Held
from asgi_scope.ui.app import ScopeApp
from asgi_scope.ui.screens.editor import EditorScreen
from tests.apps.ws_echo import app as ws_echo
from tests.ui.test_app import detail_text, message_rows, select_exchange
from tests.ui.test_live import until
from tests.ui.test_step_ui import Client, bar, run_stepping
from tests.ui.test_stream_ui import stream_rows

PATIENCE = 60.0
"""Seconds a client held through edits waits, and the UI is given to show a change:
deadlines, not timings (the user's keys come in between, on a loaded machine)."""


async def held(pilot: Any, gate: Gate, kind: str) -> Held:
    """Wait until the gate holds a message of ``kind`` (and the bar shows it)."""
    await until(pilot, lambda: any(h.message.get("type") == kind for h in gate.held()), PATIENCE)
    await until(pilot, lambda: kind in bar(pilot.app), PATIENCE)
    return next(h for h in gate.held() if h.message.get("type") == kind)


def events(ui: ScopeApp, kind: type, **match: Any) -> list[Any]:
    return [
        e
        for x in ui.store.exchanges.values()
        for e in x.events
        if type(e) is kind and all(getattr(e, k) == v for k, v in match.items())
    ]


async def edit_to(pilot: Any, text: str) -> None:
    """In the open editor, replace the text and press ctrl+s."""
    area = pilot.app.screen.query_one(TextArea)
    area.text = text
    await pilot.press("ctrl+s")
    await pilot.pause()


def test_an_edited_response_head_reaches_the_client_and_both_are_traced() -> None:
    async def check(ui: ScopeApp, pilot: Any, url: str, gate: Gate) -> None:
        client = Client(f"{url}/echo", "POST", content=b"hello", timeout=PATIENCE)
        await held(pilot, gate, "http.request")
        await pilot.press("space")
        start = await held(pilot, gate, "http.response.start")
        await pilot.press("M")
        await until(pilot, lambda: isinstance(ui.screen, EditorScreen), PATIENCE)
        text = ui.screen.query_one(TextArea).text
        assert text.startswith("200 OK\n") and "content-length: 5" in text
        await edit_to(pilot, "2OO OK\n" + text.split("\n", 1)[1])  # a bad status
        assert isinstance(ui.screen, EditorScreen)  # kept open, saying why
        error = str(ui.screen.query_one("#editor-error").content)
        assert error.startswith("line 1: the status is a number")
        await edit_to(pilot, "201 Created\nbad line")
        assert "line 2: a header line is 'name: value'" in str(
            ui.screen.query_one("#editor-error").content
        )
        assert client.response is None and [h.number for h in gate.held()] == [start.number]
        await edit_to(pilot, text.replace("200 OK", "201 Created") + "\nx-edited: by hand")
        assert not isinstance(ui.screen, EditorScreen)
        await until(pilot, lambda: events(ui, MessageSent, user="edited"), PATIENCE)  # handed over
        await held(pilot, gate, "http.response.body")
        await pilot.press("space")
        response = await client.done()
        assert response.status_code == 201 and response.headers["x-edited"] == "by hand"
        assert response.text == "hello"
        (sent,) = events(ui, MessageSent, user="edited")
        assert sent.message["status"] == 201 and sent.original["status"] == 200
        await until(
            pilot, lambda: any("edited by the user" in r for r in message_rows(ui)), PATIENCE
        )
        await pilot.press("m")
        row = next(i for i, r in enumerate(message_rows(ui)) if "edited by the user" in r)
        ui.query_one("#message-list").move_cursor(row=row)
        await until(pilot, lambda: "The original, as the app sent it" in detail_text(ui), PATIENCE)
        assert "201" in detail_text(ui) and "200" in detail_text(ui)

    run_stepping(check)


def test_an_edited_request_body_is_what_the_app_reads() -> None:
    async def check(ui: ScopeApp, pilot: Any, url: str, gate: Gate) -> None:
        client = Client(f"{url}/echo", "POST", content=b"hello", timeout=PATIENCE)
        await held(pilot, gate, "http.request")
        await pilot.press("M")
        await until(pilot, lambda: isinstance(ui.screen, EditorScreen), PATIENCE)
        assert ui.screen.query_one(TextArea).text == "hello"
        await edit_to(pilot, "edited body")
        await until(pilot, lambda: events(ui, MessageReceived, user="edited"), PATIENCE)
        await pilot.press("C")
        assert (await client.done()).text == "edited body"
        (received,) = events(ui, MessageReceived, user="edited")
        assert received.original["body"] == b"hello"
        flow = flow_of(ui.store, ui.store.exchanges[received.exchange])
        assert flow is not None and flow.request.body == b"hello"  # the HAR's: as sent

    run_stepping(check)


def test_escape_sends_nothing_and_what_cannot_be_edited_is_refused() -> None:
    async def check(ui: ScopeApp, pilot: Any, url: str, gate: Gate) -> None:
        client = Client(f"{url}/echo", "POST", content=b"hi", timeout=PATIENCE)
        first = await held(pilot, gate, "http.request")
        await pilot.press("M")
        await until(pilot, lambda: isinstance(ui.screen, EditorScreen), PATIENCE)
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(ui.screen, EditorScreen), PATIENCE)
        assert [h.number for h in gate.held()] == [first.number]  # still held, as it came
        await pilot.press("D")  # not a WebSocket message: nothing dropped
        await pilot.pause()
        assert [h.number for h in gate.held()] == [first.number]
        await pilot.press("C")
        assert (await client.done()).text == "hi"
        assert not events(ui, MessageReceived, user="edited")

    run_stepping(check)


class Socket:
    """A WebSocket client in a thread: sends ``texts`` one by one, each once the
    answer to the one before came, and keeps the answers."""

    def __init__(self, url: str, texts: list[str], answers: int) -> None:
        self.answers: list[str | bytes] = []
        self.ready = threading.Event()
        self.go = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(url, texts, answers), daemon=True)
        self.thread.start()

    def _run(self, url: str, texts: list[str], answers: int) -> None:
        with connect(url.replace("http", "ws") + "/ws", open_timeout=PATIENCE) as ws:
            self.ready.set()
            for text in texts:
                ws.send(text)
            while len(self.answers) < answers:
                self.answers.append(ws.recv(timeout=PATIENCE))
            self.go.wait(PATIENCE)

    async def done(self) -> list[str | bytes]:
        self.go.set()
        await asyncio.to_thread(self.thread.join, PATIENCE)
        return self.answers


def test_a_websocket_message_edited_and_one_dropped() -> None:
    async def check(ui: ScopeApp, pilot: Any, url: str, gate: Gate) -> None:
        await pilot.press("S")
        client = Socket(url, ["one", "two"], answers=1)
        await held(pilot, gate, "websocket.connect")
        await pilot.press("space")
        await held(pilot, gate, "websocket.accept")
        await pilot.press("space")
        first = await held(pilot, gate, "websocket.receive")
        assert first.message["text"] == "one"
        await pilot.press("D")  # dropped: the app never reads "one"
        await until(pilot, lambda: events(ui, MessageReceived, user="dropped"), PATIENCE)
        second = await held(pilot, gate, "websocket.receive")
        assert second.message["text"] == "two"
        await pilot.press("M")
        await until(pilot, lambda: isinstance(ui.screen, EditorScreen), PATIENCE)
        await edit_to(pilot, "TWO")
        await until(pilot, lambda: events(ui, MessageReceived, user="edited"), PATIENCE)
        await held(pilot, gate, "websocket.send")
        await pilot.press("G")
        assert await client.done() == ["echo: TWO"]
        await until(
            pilot, lambda: any("dropped by the user" in r for r in message_rows(ui)), PATIENCE
        )
        exchange = next(x for x in ui.store.exchanges.values() if x.kind == "websocket")
        flow = flow_of(ui.store, exchange)
        assert flow is not None  # the HAR's: what the client sent, before the edit
        assert [m.data for m in flow.messages] == ["one", "two", "echo: TWO"]

    run_stepping(check, stepping=False, app=ws_echo)


def test_the_composer_sends_the_app_a_message_and_its_answer_is_traced() -> None:
    async def check(ui: ScopeApp, pilot: Any, url: str, gate: Gate) -> None:
        client = Socket(url, ["from the client"], answers=3)
        answer = {"type": "websocket.send", "text": "echo: from the client"}
        await until(pilot, lambda: events(ui, MessageSent, message=answer), PATIENCE)
        exchange = next(x for x in ui.store.exchanges.values() if x.kind == "websocket")
        await select_exchange(ui, pilot, exchange.id)
        await pilot.press("I")
        await until(pilot, lambda: isinstance(ui.screen, EditorScreen), PATIENCE)
        await edit_to(pilot, "from asgi-scope")
        await until(pilot, lambda: events(ui, MessageReceived, user="composed"), PATIENCE)
        await pilot.press("I")
        await until(pilot, lambda: isinstance(ui.screen, EditorScreen), PATIENCE)
        await pilot.press("ctrl+t")  # binary: hex
        await edit_to(pilot, "zz")
        assert "hex digits" in str(ui.screen.query_one("#editor-error").content)
        await edit_to(pilot, "01 02 03")
        answers = await client.done()
        assert answers == ["echo: from the client", "echo: from asgi-scope", b"\x03\x02\x01"]
        composed = events(ui, MessageReceived, user="composed")
        assert [m.message for m in composed] == [
            {"type": "websocket.receive", "text": "from asgi-scope"},
            {"type": "websocket.receive", "bytes": b"\x01\x02\x03"},
        ]
        await until(pilot, lambda: any(
            "asgi-scope → app" in r and "composed in asgi-scope" in r for r in message_rows(ui)
        ), PATIENCE)  # fmt: skip
        await pilot.press("E")  # the Stream tab names who sent each
        await until(pilot, lambda: len(stream_rows(ui)) == 6, PATIENCE)
        assert [r[2] for r in stream_rows(ui)] == ["client → app", "app → client"] + [
            "asgi-scope → app", "app → client"] * 2  # fmt: skip
        flow = flow_of(ui.store, ui.store.exchanges[exchange.id])
        assert flow is not None  # the HAR's: the client never sent what was composed
        assert [m.data for m in flow.messages if m.direction == "send"] == ["from the client"]

    run_stepping(check, stepping=False, app=ws_echo)
