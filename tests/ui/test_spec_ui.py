"""Spec violations in the inspector: a real server, the deliberately broken app,
real requests. The exchange's row is marked, the violation sits under the message
that broke the rule, and its detail quotes the rule and the spec section."""

from __future__ import annotations

import contextlib
from typing import Any

import httpx

from asgi_scope.ui.app import ScopeApp
from tests.apps.broken import app as broken_app
from tests.ui.test_app import detail_text, message_rows, select_message, table_rows
from tests.ui.test_live import get, run_live, until


def test_a_violation_marks_the_row_and_sits_under_its_message() -> None:
    async def check(ui: ScopeApp, pilot: Any, url: str) -> None:
        assert (await get(f"{url}/")).status_code == 200
        assert (await get(f"{url}/Upper")).status_code == 200
        await until(pilot, lambda: len([r for r in table_rows(ui) if "done" in r]) >= 2)
        await until(pilot, lambda: any("⚠1" in r for r in table_rows(ui)))
        rows = table_rows(ui)
        fine = next(r for r in rows if "GET / " in r)
        assert "⚠" not in fine
        flagged = next(r for r in rows if "/Upper" in r)
        assert flagged.endswith("done ⚠1")
        # The newest exchange is selected (follow), its list drawn on the next drain.
        await until(pilot, lambda: any("http.response.start ⚠" in r for r in message_rows(ui)))
        messages = message_rows(ui)
        start = next(i for i, r in enumerate(messages) if "http.response.start ⚠" in r)
        assert "spec violation" in messages[start + 1]
        assert "http.header-lowercase" in messages[start + 1]
        await select_message(ui, pilot, "http.response.start ⚠")
        text = detail_text(ui)
        assert "⚠ breaks http.header-lowercase (header names are lower-case)" in text
        assert "b'Content-Type'" in text
        await select_message(ui, pilot, "spec violation")
        text = detail_text(ui)
        assert "⚠ warning http.header-lowercase  header names are lower-case" in text
        assert "The spec says: Header names must be lowercased." in text
        assert "Fix: Lower-case header names" in text
        assert "ASGI HTTP 2.5, Response Start - send event" in text

    run_live(broken_app, check)


class Unprintable:
    def __repr__(self) -> str:
        raise ValueError("no repr for you")


async def odd_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Sends what it should not: a generator, a dict status, an object, a str body."""
    if scope["type"] != "http":
        return
    await receive()
    path = scope["path"]
    start = {"type": "http.response.start", "status": 200}
    if path == "/gen":
        await send(m for m in [start])
    elif path == "/dict":
        await send({**start, "status": {"code": 200}})
    elif path == "/object":
        await send({**start, "headers": [Unprintable()]})
    else:
        await send(start)
        await send({"type": "http.response.body", "body": "a str"})


def test_strange_messages_are_shown_safely_and_flagged() -> None:
    async def check(ui: ScopeApp, pilot: Any, url: str) -> None:
        for path in ("/gen", "/dict", "/object", "/str"):
            # The server may close the connection: an answer the spec allows.
            with contextlib.suppress(httpx.HTTPError):
                await get(f"{url}{path}")
        await until(pilot, lambda: sum("⚠" in r for r in table_rows(ui)) == 4)
        ui.action_toggle_follow()  # stop following, so the selection stays put
        table = ui.query_one("#exchanges")
        rules = ("asgi.message-dict", "http.status-int", "http.headers-shape", "http.body-bytes")
        for row, rule in enumerate(rules, start=1):  # row 0 is the lifespan
            table.move_cursor(row=row)
            await until(pilot, lambda rule=rule: any(rule in m for m in message_rows(ui)))
            if rule == "asgi.message-dict":
                assert any("not a dict: <generator object" in m for m in message_rows(ui))
            messages = ui.query_one("#message-list")
            for index in range(messages.row_count):  # every message's detail draws
                messages.move_cursor(row=index)
                await pilot.pause()
                assert detail_text(ui).strip()

    run_live(odd_app, check)


def test_explain_mode_opens_each_detail_with_what_it_means() -> None:
    async def check(ui: ScopeApp, pilot: Any, url: str) -> None:
        await get(f"{url}/Upper")
        await until(pilot, lambda: any("⚠1" in r for r in table_rows(ui)))
        await until(pilot, lambda: any("http.response.start ⚠" in r for r in message_rows(ui)))
        await select_message(ui, pilot, "http.response.start ⚠")
        assert "ⓘ" not in detail_text(ui)
        await pilot.press("i")
        await pilot.pause()
        text = detail_text(ui)
        assert text.startswith("ⓘ The app started its response: the status and headers.")
        assert "(ASGI HTTP 2.5, Response Start - send event)" in text
        await select_message(ui, pilot, "spec violation")
        assert detail_text(ui).startswith("ⓘ The app broke the ASGI rule http.header-lowercase")
        await pilot.press("i")
        await pilot.pause()
        assert "ⓘ" not in detail_text(ui)

    run_live(broken_app, check)
