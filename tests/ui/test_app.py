"""The ScopeApp on synthetic traffic: table, tabs, scope diff, hex, safety, actions."""

from __future__ import annotations

import io
import threading
import time

from rich.console import Console
from rich.text import Text
from textual.widgets import DataTable, Static, TabbedContent

from asgi_scope.trace.events import MessageSent, ServerNote
from asgi_scope.ui.components.detail.hex_view import HexView
from asgi_scope.ui.components.detail.messages import MessagesView
from asgi_scope.ui.components.detail.scope_view import ScopeView
from asgi_scope.ui.components.detail.sequence import SequenceView
from asgi_scope.ui.components.detail.timeline import TimelineView
from asgi_scope.ui.components.exchanges import ExchangeTable
from asgi_scope.ui.components.notes import NotesBar
from asgi_scope.ui.palette import commands
from asgi_scope.ui.screens.notes import NotesScreen
from tests.ui.conftest import run_app, screen_text
from tests.ui.fake_traffic import HOSTILE_PATH, OSC52, ClockRecorder, Traffic


def table_rows(app) -> list[str]:
    table = app.query_one(ExchangeTable)
    return [" ".join(str(cell) for cell in table.get_row_at(i)) for i in range(table.row_count)]


def message_rows(app) -> list[str]:
    table = app.query_one("#message-list", DataTable)
    return [" ".join(str(cell) for cell in table.get_row_at(i)) for i in range(table.row_count)]


def detail_text(app) -> str:
    return str(app.query_one("#message-detail", Static).content)


async def select_exchange(app, pilot, exchange_id: int) -> None:
    table = app.query_one(ExchangeTable)
    table.move_cursor(row=table.get_row_index(str(exchange_id)))
    await pilot.pause()


async def select_message(app, pilot, type_: str) -> None:
    """Move the message list's cursor to the first row of ``type_`` and wait until
    the detail changed to that row's event (a loaded machine draws it later)."""
    table = app.query_one("#message-list", DataTable)
    for index in range(table.row_count):
        if str(table.get_row_at(index)[2]) == type_:
            before = detail_text(app) if table.cursor_row != index else None
            table.move_cursor(row=index)
            await pilot.pause()
            deadline = time.monotonic() + 5
            while detail_text(app) == before:
                assert time.monotonic() < deadline, f"the detail never showed {type_}"
                await pilot.pause(0.05)
            return
    raise AssertionError(f"no {type_} row in {message_rows(app)}")


def test_empty_state_tells_the_url():
    async def check(app, pilot):
        assert app.query_one("#empty").display
        assert not app.query_one("#body").display
        assert "curl http://127.0.0.1:8000/" in screen_text(app)

    run_app(Traffic(), check)


def test_table_shows_every_exchange(traffic):
    async def check(app, pilot):
        rows = table_rows(app)
        assert len(rows) == 5
        assert rows[0].startswith("1 - lifespan")
        assert "GET /" in rows[1] and "200" in rows[1] and "done" in rows[1]
        assert "POST /items/42" in rows[2] and "201" in rows[2]
        assert "500" in rows[3] and "error" in rows[3]
        assert "400" in rows[4] and "error" in rows[4]
        # Follow is on: the newest exchange is selected.
        assert app.query_one(ExchangeTable).selected_id == 5
        header = screen_text(app).splitlines()[0]
        assert "connections 3" in header and "requests 4" in header and "errors 2" in header

    run_app(traffic, check)


def test_rows_update_live_while_streaming():
    traffic = Traffic()
    traffic.connect(1)
    exchange = traffic.http(1, "GET", "/stream", finish=False)

    async def check(app, pilot):
        assert "streaming" in table_rows(app)[0]
        table = app.query_one("#message-list", DataTable)
        assert [str(table.get_row_at(i)[2]) for i in range(table.row_count)] == [
            "scope",
            "http.request",
            "http.response.start",
        ]
        sent = traffic.rec(
            MessageSent,
            conn=1,
            exchange=exchange,
            message={"type": "http.response.body", "body": b"tail"},
            dropped=0,
        )
        assert sent.seq
        traffic.recorder.advance(5)
        await pilot.pause(0.1)
        assert "done" in table_rows(app)[0]
        assert len(message_rows(app)) == 4

    run_app(traffic, check)


def test_messages_tab_lists_types_arrows_and_detail(traffic):
    async def check(app, pilot):
        await select_exchange(app, pilot, 3)
        rows = message_rows(app)
        assert rows[0].startswith("server → app") and "scope" in rows[0]
        assert rows[1].startswith("server → app") and "http.request" in rows[1]
        assert "18 B" in rows[1]
        assert rows[2].startswith("server ← app") and "201 Created, 2 headers" in rows[2]
        assert rows[3].startswith("server ← app") and "http.response.body" in rows[3]
        assert "app returned" in rows[4]
        await select_message(app, pilot, "http.request")
        detail = detail_text(app)
        assert "MessageReceived" in detail
        assert "'body': b'{\"name\": \"widget\"}'" in detail
        assert "'more_body': False" in detail

    run_app(traffic, check)


def test_app_raised_shows_traceback(traffic):
    async def check(app, pilot):
        await select_exchange(app, pilot, 4)
        assert any("server ✗ app" in row and "app raised" in row for row in message_rows(app))
        await select_message(app, pilot, "app raised")
        detail = detail_text(app)
        assert "ValueError: something broke" in detail
        assert "Traceback (most recent call last):" in detail

    run_app(traffic, check)


def test_protocol_error_shows_h11_detail(traffic):
    async def check(app, pilot):
        await select_exchange(app, pilot, 5)
        await select_message(app, pilot, "protocol error")
        detail = detail_text(app)
        assert "illegal request line" in detail and "answered 400" in detail

    run_app(traffic, check)


def test_scope_tab_highlights_keys_the_app_added(traffic):
    async def check(app, pilot):
        await select_exchange(app, pilot, 3)
        await pilot.press("s")
        await pilot.pause()
        view = app.query_one(ScopeView)
        text = app.query_one("#scope-text", Static).content
        assert isinstance(text, Text)
        plain = text.plain
        assert "+ 'route': '<Route /items/{id}>'" in plain
        assert "+ 'path_params': {" in plain
        assert "  'method': 'GET'" not in plain and "  'method': 'POST'" in plain
        added = view.get_component_rich_style("scope-view--added", partial=True)
        start = plain.index("+ 'route'")
        styles = [span.style for span in text.spans if span.start <= start < span.end]
        assert added in styles
        assert "+ 'route'" in screen_text(app)

    run_app(traffic, check)


def test_hex_tab_dumps_bytes_and_highlights_the_selected_message(traffic):
    async def check(app, pilot):
        await select_exchange(app, pilot, 3)
        await select_message(app, pilot, "http.response.body")
        await pilot.press("x")
        await pilot.pause()
        screen = screen_text(app)
        assert "50 4f 53 54 20 2f 69 74" in screen  # "POST /it"
        assert "|POST /items/42 H|" in screen
        assert "request: 87 B received" in screen and "response: 82 B sent" in screen
        exchange = app.store.exchanges[3]
        body = [e for e in exchange.messages() if isinstance(e, MessageSent)][-1]
        hex_view = app.query_one(HexView)
        assert hex_view.highlight == ("out", *exchange.sent_wire(body))
        # The response body's bytes are drawn in the highlight style.
        marked = hex_view.get_component_rich_style("hex-view--highlight", partial=True)
        lines = [hex_view.render_line(y) for y in range(hex_view.size.height)]
        hot = "".join(
            s.text
            for line in lines
            for s in line
            if s.style and s.style.bgcolor == (hex_view.rich_style + marked).bgcolor
        )
        assert hot.replace(" ", "") == "7b226f6b223a747275" + '{"ok":tru' + "657d" + "e}"

    run_app(traffic, check)


def test_hex_view_of_a_big_body_renders_only_visible_lines():
    traffic = Traffic()
    traffic.connect(1)
    traffic.http(1, "POST", "/upload", body=bytes(range(256)) * 4096)  # 1 MiB

    async def check(app, pilot):
        await pilot.press("x")
        await pilot.pause()
        hex_view = app.query_one(HexView)
        assert hex_view.virtual_size.height > 65536
        hex_view.scroll_end(animate=False)
        await pilot.pause()
        assert "f0 f1 f2 f3" in screen_text(app)

    run_app(traffic, check)


def test_timeline_draws_the_connection(traffic):
    async def check(app, pilot):
        await select_exchange(app, pilot, 3)
        await pilot.press("t")
        await pilot.pause()
        assert app.query_one(TabbedContent).active == "tab-timeline"
        plain = app.query_one("#timeline-text", Static).content.plain
        assert "connection 1 from 127.0.0.1:50001, closed by client" in plain
        assert "2 GET /" in plain and "3 POST /items/42" in plain
        assert "http.response.start" in plain
        assert app.query_one(TimelineView).display

    run_app(traffic, check)


def test_hostile_strings_show_escaped_never_raw():
    traffic = Traffic()
    traffic.connect(1)
    traffic.http(1, "GET", HOSTILE_PATH, headers=[(b"x-evil", OSC52.encode())])

    async def check(app, pilot):
        screen = screen_text(app)
        assert HOSTILE_PATH in screen  # literally, not parsed as markup
        await select_message(app, pilot, "scope")
        assert "\\x1b]52;c;SGVsbG8=\\x07" in detail_text(app)
        for tab in "sxt":
            await pilot.press(tab)
            await pilot.pause()
            strips = app.screen._compositor.render_strips()
            for strip in strips:
                for segment in strip:
                    assert "\x1b" not in segment.text and "\x07" not in segment.text
        await pilot.press("s")
        await pilot.pause()
        assert "\\x1b]52;c;SGVsbG8=\\x07" in screen_text(app)
        svg = app.export_screenshot()
        assert "\x1b" not in svg and "\x07" not in svg

    run_app(traffic, check)


def test_notes_are_shown_and_warnings_notified():
    traffic = Traffic()
    traffic.note("listening on http://127.0.0.1:8000")
    traffic.rec(ServerNote, conn=0, level="warning", text="lifespan unsupported: \x1b[31mred")

    async def check(app, pilot):
        notes = app.query_one(NotesBar).content.plain
        assert "warning: lifespan unsupported: \\x1b[31mred" in notes
        assert "(2 notes" in notes
        assert any("lifespan unsupported" in n.message for n in app._notifications)
        await pilot.press("l")
        await pilot.pause()
        assert isinstance(app.screen, NotesScreen)
        panel = app.screen.query_one("#notes-text", Static).content.plain
        assert "listening on http://127.0.0.1:8000" in panel
        assert "warning" in panel and "\\x1b[31mred" in panel
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, NotesScreen)

    run_app(traffic, check)


def test_follow_next_previous_and_clear(traffic):
    async def check(app, pilot):
        table = app.query_one(ExchangeTable)
        assert app.follow and table.selected_id == 5
        await pilot.press("k")
        assert table.selected_id == 4 and not app.follow
        await pilot.press("p", "p")
        assert table.selected_id == 2
        await pilot.press("j", "n")
        assert table.selected_id == 4
        await pilot.press("f")
        assert app.follow and table.selected_id == 5
        await pilot.press("c")
        await pilot.pause()
        assert table.row_count == 0 and not app.store.exchanges
        assert app.query_one("#empty").display
        traffic.connect(9)
        traffic.http(9, "GET", "/again")
        await pilot.pause(0.1)
        assert table.row_count == 1 and not app.query_one("#empty").display

    run_app(traffic, check)


def test_quit_calls_on_quit_in_a_thread(traffic):
    calls = []

    def on_quit() -> None:
        calls.append(threading.current_thread() is threading.main_thread())

    async def check(app, pilot):
        await pilot.press("q")
        await pilot.pause(0.2)

    app = run_app(traffic, check, on_quit=on_quit)
    assert calls == [False]
    assert app.return_code == 0


def test_command_palette_offers_every_binding(traffic):
    async def check(app, pilot):
        titles = {command.title for command in commands(app.described_actions())}
        for title in ("Quit", "Follow", "Clear", "Next", "Prev", "Scope", "Hex"):
            assert title in titles
        assert len([t for t in titles if t == "Quit"]) == 1

    run_app(traffic, check)


def test_message_view_selection_is_posted(traffic):
    async def check(app, pilot):
        await select_exchange(app, pilot, 2)
        view = app.query_one(MessagesView)
        await select_message(app, pilot, "http.response.start")
        assert type(view.selected).__name__ == "MessageSent"

    run_app(traffic, check)


def test_clock_recorder_is_deterministic():
    first, second = Traffic(ClockRecorder()), Traffic(ClockRecorder())
    for t in (first, second):
        t.connect(1)
        t.http(1)
    assert [e.t_ns for e in first.recorder.drain()] == [e.t_ns for e in second.recorder.drain()]


def test_tab_keys_and_clicks_switch_even_with_focus_inside(traffic):
    async def check(app, pilot):
        tabs = app.query_one(TabbedContent)
        await pilot.press("tab")
        assert app.focused.id == "message-list"
        await pilot.press("s")
        await pilot.pause()
        assert tabs.active == "tab-scope" and isinstance(app.focused, ScopeView)
        await pilot.press("m", "tab")  # focus the message detail, then click a tab
        await pilot.click("#--content-tab-tab-hex")
        await pilot.pause()
        assert tabs.active == "tab-hex" and isinstance(app.focused, HexView)
        await pilot.press("t")
        await pilot.pause()
        assert tabs.active == "tab-timeline"

    run_app(traffic, check)


def test_dropped_body_bytes_are_marked():
    traffic = Traffic()
    traffic.connect(1)
    exchange = traffic.http(1, "GET", "/", finish=False)
    sent = traffic.rec(
        MessageSent,
        conn=1,
        exchange=exchange,
        message={"type": "http.response.body", "body": b"x" * 10},
        dropped=4086,
    )

    async def check(app, pilot):
        await select_message(app, pilot, "http.response.body")
        assert "4.0 KiB not kept" in message_rows(app)[-1]
        assert "[+4086 bytes not kept: body cap]" in detail_text(app)
        assert sent.seq

    run_app(traffic, check)


def test_paused_table_redraws_its_rows_on_screen_only(monkeypatch):
    from asgi_scope.ui import app as ui_app

    monkeypatch.setattr(ui_app, "RUNNING_EVERY", 10**9)  # no running-time redraws
    traffic = Traffic()
    traffic.connect(1)
    first = traffic.http(1, "GET", "/first", finish=False)
    for _ in range(60):
        traffic.http(1, "GET", "/more")
    last = traffic.http(1, "GET", "/last", finish=False)

    def finish(exchange: int) -> None:
        traffic.rec(
            MessageSent,
            conn=1,
            exchange=exchange,
            message={"type": "http.response.body", "body": b""},
            dropped=0,
        )

    async def check(app, pilot):
        table = app.query_one(ExchangeTable)
        await pilot.press("k", "home")  # paused, at the top: /last is off screen
        drawn: list[int] = []
        table.on_drawn = drawn.append
        finish(last)
        await pilot.pause(0.1)
        assert "done" in table_rows(app)[-1] and not any(drawn)
        traffic.http(1, "GET", "/new")  # a row added below the screen
        await pilot.pause(0.1)
        assert "/new" in table_rows(app)[-1] and not any(drawn)
        finish(first)
        await pilot.pause(0.1)
        assert any(drawn)
        row = next(line for line in screen_text(app).splitlines() if "/first" in line)
        assert "done" in row

    run_app(traffic, check)


def test_a_tab_chosen_by_its_key_takes_the_keys_and_j_k_still_move(traffic):
    """As in browser devtools: x, then arrows move the Hex byte cursor (not the
    exchange table's selection); d, then a shows the whole connection at once."""

    async def check(app, pilot):
        table = app.query_one(ExchangeTable)
        await select_exchange(app, pilot, 3)
        await pilot.press("x")
        await pilot.pause()
        hex_view = app.query_one(HexView)
        assert app.focused is hex_view
        await pilot.press("right", "right", "down")
        await pilot.pause()
        assert table.selected_id == 3, "the arrows moved the exchange table"
        assert hex_view.cursor is not None and hex_view.cursor[1] > 0
        await pilot.press("k")  # app keys still work from the focused tab
        await pilot.pause()
        assert table.selected_id == 2 and app.focused is hex_view
        await pilot.press("d", "a")
        await pilot.pause()
        sequence = app.query_one(SequenceView)
        assert app.focused is sequence and sequence.whole_connection
        await pilot.press("j")
        await pilot.pause()
        assert table.selected_id == 3
        await pilot.press("m")
        await pilot.pause()
        assert app.focused.id == "message-list"
        await pilot.press("shift+tab")  # back to the exchange table
        assert app.focused is table

    run_app(traffic, check)


def test_end_and_home_go_to_the_last_and_first_message(traffic):
    async def check(app, pilot):
        await select_exchange(app, pilot, 3)
        await pilot.press("m")
        await pilot.pause()
        messages = app.query_one("#message-list", DataTable)
        assert app.focused is messages and messages.cursor_row == 0
        await pilot.press("end")
        await pilot.pause()
        assert messages.cursor_row == messages.row_count - 1 > 0
        assert "app returned" in detail_text(app) or "ExchangeEnded" in detail_text(app)
        await pilot.press("home")
        await pilot.pause()
        assert messages.cursor_row == 0
        assert app.query_one(ExchangeTable).selected_id == 3

    run_app(traffic, check)


def help_rows(app) -> list[str]:
    """The rows of the open help screen's key table, as shown (key, what it does)."""
    console = Console(width=200, record=True, file=io.StringIO())
    console.print(app.screen.query_one("#help-keys", Static).content)
    return [" ".join(line.split()) for line in console.export_text().splitlines()]


def test_help_tells_tab_and_shift_tab_and_each_key_once(traffic):
    async def check(app, pilot):
        await pilot.press("question_mark")
        await pilot.pause()
        rows = help_rows(app)
        assert any(r.startswith("Tab ") and "exchange table" in r for r in rows), rows
        assert any(r.startswith("Shift+Tab ") for r in rows), rows
        assert len([r for r in rows if r.startswith("End ")]) == 1, rows
        assert any(r.startswith("End ") and "messages" in r for r in rows), rows
        # A server runs (on_quit): q stops it first.
        assert "q Stop the server cleanly and quit" in rows

    run_app(traffic, check, on_quit=lambda: None)


def test_with_no_server_to_stop_q_just_quits(traffic):
    async def check(app, pilot):
        await pilot.press("question_mark")
        await pilot.pause()
        rows = help_rows(app)
        assert "q Quit" in rows and not any("Stop the server" in r for r in rows), rows
        offered = {c.title: c.help for c in commands(app.described_actions())}
        assert "server" not in offered["Quit"]

    run_app(traffic, check)
