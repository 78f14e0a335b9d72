"""Search offsets are offsets in the value itself: ``İ`` lowercases to two
characters, so offsets found in ``value.lower()`` pointed past the match."""

from __future__ import annotations

from typing import Any

from asgi_scope.demo import app as demo_app
from asgi_scope.ui.app import ScopeApp
from asgi_scope.ui.search import find, hits_text
from tests.ui.test_app import detail_text, message_rows, table_rows
from tests.ui.test_live import get, run_live, until
from tests.ui.test_search_ui import search, selected_type


def test_a_match_after_a_character_whose_lower_case_is_longer_is_where_it_is() -> None:
    async def check(ui: ScopeApp, pilot: Any, url: str) -> None:
        await get(f"{url}/%C4%B0%C4%B0%C4%B0/NeedleX")
        await until(pilot, lambda: any("Needle" in r and "done" in r for r in table_rows(ui)))
        await until(pilot, lambda: any("app returned" in r for r in message_rows(ui)))
        for _ in range(6):  # Enter again: the next message that has it
            await search(ui, pilot, "needle")
            if selected_type(ui) == "scope":
                break
        assert selected_type(ui) == "scope"
        text = detail_text(ui)
        assert "path @5: " in text, text[:300]

    run_live(demo_app, check)


def test_find_and_snippets_use_offsets_in_the_original_text() -> None:
    value = {"path": "/\u0130\u0130\u0130/NeedleX"}
    hits = find(value, "needle")
    assert [(h.where, h.offset, h.size) for h in hits] == [("path", 5, 6)]
    snippet = hits_text(hits, "needle")
    highlighted = [
        snippet.plain[s.start : s.end] for s in snippet.spans if s.style == "bold reverse"
    ]
    assert highlighted[-1] == "Needle"
