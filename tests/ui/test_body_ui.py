"""The Body tab on a real Starlette app (tests/apps/bodies.py): a GZip'd JSON
response shown decoded and pretty, raw one key away, forms and multipart parts
as tables, cookies parsed, an image named with its size; side by side when wide;
ctrl+f finds words only the decoded body holds."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from asgi_scope.config import Config
from asgi_scope.server.runner import Server
from asgi_scope.session import LoopThread
from asgi_scope.trace.filter import parse
from asgi_scope.trace.recorder import Recorder
from asgi_scope.ui.app import ScopeApp
from asgi_scope.ui.components.detail.body_view import BodyView
from tests.apps.bodies import app as bodies_app
from tests.ui.conftest import screen_text
from tests.ui.test_app import detail_text, select_exchange, table_rows
from tests.ui.test_live import until
from tests.ui.test_search_ui import search, selected_type


def body_texts(ui: ScopeApp) -> tuple[str, str]:
    view = ui.query_one(BodyView)
    return (
        str(view.query_one("#body-request").render()),
        str(view.query_one("#body-response").render()),
    )


def run(
    requests: Callable[[httpx.Client], None],
    check: Callable[[ScopeApp, Any], Any],
    size: tuple[int, int] = (140, 40),
) -> None:
    recorder = Recorder()
    server = LoopThread(Server(Config(port=0, lifespan="off"), bodies_app, recorder))
    server.start()
    ui = ScopeApp(recorder, app_name="bodies", url=server.url, on_quit=server.stop)

    def talk() -> None:
        with httpx.Client(base_url=server.url, timeout=5) as client:
            requests(client)

    async def main() -> None:
        async with ui.run_test(size=size) as pilot:
            ui.action_toggle_follow()  # tests select; the newest must not take it away
            await asyncio.to_thread(talk)
            await check(ui, pilot)

    try:
        asyncio.run(main())
    finally:
        server.stop(5)


async def open_body(ui: ScopeApp, pilot: Any, path: str) -> None:
    await until(pilot, lambda: any(path in r and "done" in r for r in table_rows(ui)))
    row = next(r for r in table_rows(ui) if path in r)
    await select_exchange(ui, pilot, int(row.split()[0]))
    await pilot.press("o")
    await shown(ui, pilot, "Request", side=0)


async def shown(ui: ScopeApp, pilot: Any, needle: str, side: int = 1) -> None:
    """Wait until the request's (``side`` 0) or response's body text holds ``needle``."""
    await until(pilot, lambda: needle in body_texts(ui)[side])


def test_a_gzipped_json_response_shows_pretty_json_and_raw_one_key_away() -> None:
    def requests(client: httpx.Client) -> None:
        answer = client.get("/json", headers={"accept-encoding": "gzip"})
        assert answer.headers["content-encoding"] == "gzip"

    async def check(ui: ScopeApp, pilot: Any) -> None:
        await open_body(ui, pilot, "/json")
        await shown(ui, pilot, "item 42")
        _, response = body_texts(ui)
        assert "application/json  gzip:" in response
        assert '"name": "item 42",' in response  # one key a line, indented
        assert "  {\n" in response
        assert "Set-Cookie\nsession = abc123; HttpOnly; Path=/" in response
        await pilot.press("v")
        await shown(ui, pilot, "raw")
        _, raw = body_texts(ui)
        assert "raw" in raw and "item 42" not in raw and "1f 8b 08" in raw  # gzip magic
        await pilot.press("v")
        await shown(ui, pilot, '"name": "item 42",')

    run(requests, check)


def test_forms_multipart_query_and_images() -> None:
    def requests(client: httpx.Client) -> None:
        client.post("/form?page=2&q=caf%C3%A9", data={"user": "ada", "note": "a\x1b[31m"})
        client.post("/form", data={"title": "t"}, files={"up": ("a.txt", b"file words")})
        client.get("/pixel.png", headers={"cookie": "theme=dark; sid=1"})

    async def check(ui: ScopeApp, pilot: Any) -> None:
        # every exchange in first: following the newest would move the selection
        await until(pilot, lambda: sum("done" in r for r in table_rows(ui)) == 3)
        first, second = (r for r in table_rows(ui) if "/form" in r)
        await select_exchange(ui, pilot, int(first.split()[0]))
        await pilot.press("o")
        await shown(ui, pilot, "user", side=0)
        request, _ = body_texts(ui)
        assert "Query\npage  2\nq     café" in request
        assert "user  ada\nnote  a\\x1b[31m" in request  # escaped, never raw
        await select_exchange(ui, pilot, int(second.split()[0]))
        await shown(ui, pilot, "file words", side=0)
        request, _ = body_texts(ui)
        assert "up  file a.txt  text/plain" in request
        assert "file words" in request
        await open_body(ui, pilot, "/pixel.png")
        await shown(ui, pilot, "PNG image")
        request, response = body_texts(ui)
        assert "Cookies\ntheme  dark\nsid    1" in request
        assert "PNG image, 3 × 2 px" in response

    run(requests, check)


@pytest.mark.parametrize(("columns", "beside"), [(180, True), (140, False)])
def test_request_and_response_stand_side_by_side_when_wide(columns: int, beside: bool) -> None:
    def requests(client: httpx.Client) -> None:
        client.get("/json")

    async def check(ui: ScopeApp, pilot: Any) -> None:
        await open_body(ui, pilot, "/json")
        view = ui.query_one(BodyView)
        left = view.query_one("#body-request-scroll").region
        right = view.query_one("#body-response-scroll").region
        if beside:
            assert left.y == right.y and left.x < right.x
        else:
            assert left.x == right.x and left.y < right.y

    run(requests, check, size=(columns, 40))


def test_search_and_the_body_filter_read_the_decoded_body() -> None:
    def requests(client: httpx.Client) -> None:
        client.get("/json", headers={"accept-encoding": "gzip"})

    async def check(ui: ScopeApp, pilot: Any) -> None:
        await open_body(ui, pilot, "/json")
        await pilot.press("m")
        await search(ui, pilot, "item 42")
        assert selected_type(ui) == "http.response.body"
        assert "decoded body @" in detail_text(ui)
        flt = parse("~bs 'item 42'")
        exchange = next(x for x in ui.store.exchanges.values() if x.path == "/json")
        assert flt is not None and flt(exchange)
        assert not parse("~bq 'item 42'")(exchange)

    run(requests, check)


def test_the_message_summary_takes_the_width_it_is_given() -> None:
    def requests(client: httpx.Client) -> None:
        client.post("/form", data={"user": "ada" * 40})

    for columns in (140, 200):

        async def check(ui: ScopeApp, pilot: Any, columns: int = columns) -> None:
            await until(pilot, lambda: any("/form" in r and "done" in r for r in table_rows(ui)))
            await pilot.press("m")
            table = ui.query_one("#message-list")
            await until(pilot, lambda: table.row_count >= 4)

            def fitted() -> bool:  # no cell left unused, none past the edge
                widths = sum(c.get_render_width(table) for c in table.columns.values())
                return widths == table.scrollable_content_region.width

            await until(pilot, fitted)
            row = next(r for r in screen_text(ui).splitlines() if "http.request" in r)
            summary = row.split("http.request", 1)[1].split("│", 1)[0].strip()
            assert summary.startswith("125 B b'user=adaada")
            assert "…" in summary  # cut with an ellipsis, never mid-character

        run(requests, check, size=(columns, 40))
