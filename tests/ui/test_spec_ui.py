"""Spec violations in the inspector: a real server, the deliberately broken app,
real requests. The exchange's row is marked, the violation sits under the message
that broke the rule, and its detail quotes the rule and the spec section."""

from __future__ import annotations

from typing import Any

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
        messages = message_rows(ui)  # the newest exchange is selected (follow)
        start = next(i for i, r in enumerate(messages) if "http.response.start ⚠" in r)
        assert "spec violation" in messages[start + 1]
        assert "http.header-lowercase" in messages[start + 1]
        await select_message(ui, pilot, "http.response.start ⚠")
        text = detail_text(ui)
        assert "⚠ breaks http.header-lowercase (header names are lower-case)" in text
        assert "b'Content-Type'" in text
        await select_message(ui, pilot, "spec violation")
        text = detail_text(ui)
        assert "⚠ http.header-lowercase  header names are lower-case" in text
        assert "The spec says: Header names must be lowercased." in text
        assert "ASGI HTTP 2.5, Response Start - send event" in text

    run_live(broken_app, check)
