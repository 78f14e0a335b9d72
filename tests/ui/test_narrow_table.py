"""The exchange table in a narrow terminal, over the real server: a long path
is cut so status, time, in, out and state stay on screen."""

from __future__ import annotations

import asyncio
from typing import Any

from asgi_scope.demo import app as demo_app
from asgi_scope.trace.recorder import Recorder
from asgi_scope.ui.app import ScopeApp
from tests.ui.conftest import screen_text
from tests.ui.test_app import table_rows
from tests.ui.test_live import get, run_live, until

URL = "http://127.0.0.1:8000"


def test_a_long_path_does_not_push_the_other_columns_off_screen() -> None:
    long_path = "/" + "segment/" * 12 + "end"

    async def check(ui: ScopeApp, pilot: Any, url: str) -> None:
        await get(f"{url}{long_path}")
        await until(pilot, lambda: any("/segment" in r and "done" in r for r in table_rows(ui)))
        await pilot.pause(0.2)
        lines = screen_text(ui).splitlines()
        header = next(line for line in lines if " path " in line and " method " in line)
        assert "status" in header and "state" in header, header
        row = next(line for line in lines if "/segment" in line)
        assert "404" in row and "done" in row, row
        assert "…" in row

    run_live(demo_app, check, size=(90, 24))


def test_at_80_columns_the_header_shows_the_whole_url_the_app_name_gives_way() -> None:
    ui = ScopeApp(Recorder(), app_name="myproject.main:app", url=URL, on_quit=None)

    async def main() -> None:
        async with ui.run_test(size=(80, 24)) as pilot:
            await pilot.pause(0.1)
            header = screen_text(ui).splitlines()[0]
            assert URL in header and "follow" in header, header
            assert "myproject" not in header, header

    asyncio.run(main())
