"""Terminal safety: hostile strings from the network and the app never reach the
terminal raw (DESIGN.md, "Safety rules").

The corpus (:mod:`tests.hostile`: CSI and OSC sequences with OSC 52 clipboard
writes and OSC 8 links, C0 and C1 controls, bidi overrides, zero-width
characters, Rich and Textual markup, a very long line, invalid UTF-8) goes
over real sockets to the real server as paths, query strings, header names and
values, request and response bodies, exception messages, WebSocket text,
binary and close reasons. Then:

- headless: the installed ``asgi-scope --headless`` runs in a pseudo-terminal
  (so Rich styles its lines as for a person), and every byte it wrote is read
  back: SGR colours are the only escape sequences allowed, no control, C1 or
  bidi character at all, and each hostile string is there, escaped;
- the TUI: the real server in its thread and a ScopeApp under pilot; every
  exchange's rows, and each tab of a sample, rendered to strips: no unsafe
  character in any segment, no line wider than the screen;
- a snapshot of the TUI on a fixed synthetic trace of the same strings pins
  how they look.
"""

from __future__ import annotations

import asyncio
import fcntl
import io
import os
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from asgi_scope.config import Config
from asgi_scope.console import Printer
from asgi_scope.server.runner import Server
from asgi_scope.session import LoopThread
from asgi_scope.trace.recorder import Recorder
from asgi_scope.trace.tracecontext import SESSION
from asgi_scope.ui.app import ScopeApp
from asgi_scope.ui.components.exchanges import ExchangeTable
from tests.apps.hostile import app as hostile_app
from tests.hostile import CORPUS, INVALID_UTF8, terminal_output_unsafe, unsafe_in
from tests.live import Raw, free_port, request
from tests.server.ws_client import BINARY, TEXT, frame, handshake, read_close, read_frame
from tests.ui.conftest import settle
from tests.ui.fake_traffic import Traffic

ROOT = Path(__file__).resolve().parents[2]
COMMAND = str(Path(sys.executable).with_name("asgi-scope"))
MARKERS = ["\\x1b]52;c;SGVsbG8=\\x07", "\\u202e", "[bold red]red[/]", "[@click=app.quit]"]
"""Escaped forms that must be on screen: shown, not dropped and not obeyed."""


def _header_value(text: str) -> bytes:
    return text.encode().replace(b"\r", b"").replace(b"\n", b"")[:3000]


def send_hostile_traffic(port: int, names: list[str] | None = None) -> int:
    """Send every vector of every corpus string (or of ``names``); return the number
    of exchanges sent. Each on its own connection, each read to its end."""
    sent = 0
    for name in names or list(CORPUS):
        text = CORPUS[name]
        quoted = quote(text.encode(), safe="")
        target = f"/p/{quoted}?name={name}&q={quoted}"
        body = text.encode() + INVALID_UTF8
        for data in (
            request("POST", target, [("X-Hostile", "plain")], body),
            request("GET", f"/raise?name={name}"),
            (f"GET /h?name={name} HTTP/1.1\r\nHost: t\r\nConnection: close\r\nX-Hostile: ").encode()
            + _header_value(text) + b"\r\n\r\n",
        ):  # fmt: skip
            with Raw(port) as raw:
                raw.send(data)
                raw.read_eof() if b"/h?" in data[:40] else raw.read_response()
            sent += 1
        with Raw(port) as raw:  # a WebSocket: text, bytes, and a close with the text
            raw.send(handshake(f"/ws/{quoted[:2000]}?name={name}"))
            assert raw.read_head()[0] == 101
            raw.send(frame(TEXT, text.encode()) + frame(BINARY, INVALID_UTF8))
            read_frame(raw), read_frame(raw)
            raw.send(frame(TEXT, b"bye"))
            read_close(raw)
        sent += 1
    with Raw(port) as raw:  # a header name and a request line h11 refuses: 400s
        raw.send(b"GET / HTTP/1.1\r\nX-\x1b]52;c;SGVsbG8=\x07: v\r\n\r\n")
        raw.read_eof()
    with Raw(port) as raw:
        raw.send(b"GET /\x1b[2J\xc2\x9b HTTP/1.1\r\nHost: t\r\n\r\n")
        raw.read_eof()
    with Raw(port) as raw:
        raw.send(request("GET", "/done"))
        raw.read_response()
    return sent + 3


# headless, in a pseudo-terminal


class PtyRun:
    """``asgi-scope`` with its stdin, stdout and stderr on a pseudo-terminal of
    200x50; :attr:`output` is every byte it wrote."""

    def __init__(self, args: list[str]) -> None:
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 200, 0, 0))
        env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "200", "LINES": "50"}
        env.pop("NO_COLOR", None)
        self.proc = subprocess.Popen(
            [COMMAND, *args], stdin=slave, stdout=slave, stderr=slave, cwd=ROOT, env=env
        )
        os.close(slave)
        self.master = master
        self.output = bytearray()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        while True:
            try:
                data = os.read(self.master, 65536)
            except OSError:  # EIO: the other side is closed
                return
            if not data:
                return
            self.output += data

    def wait_for(self, needle: bytes, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while needle not in self.output:
            assert self.proc.poll() is None, f"exited {self.proc.returncode}: {self.output!r}"
            assert time.monotonic() < deadline, f"no {needle!r} in {bytes(self.output[-2000:])!r}"
            time.sleep(0.05)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            code = self.proc.wait(15)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait(5)
            self.reader.join(5)
            os.close(self.master)
        return code


def test_headless_output_in_a_terminal_has_no_raw_escape_from_the_network():
    port = free_port()
    run = PtyRun(["tests.apps.hostile:app", "--headless", "--port", str(port)])
    try:
        run.wait_for(b"listening on")
        sent = send_hostile_traffic(port)
        run.wait_for(b"/done", timeout=30)
        time.sleep(0.3)  # the last lines of the batch
    finally:
        code = run.stop()
    output = bytes(run.output)
    assert code == 0, output[-2000:]
    assert b"\x1b[" in output, "not styled: the pseudo-terminal was not seen as a terminal"
    assert terminal_output_unsafe(output) == []
    text = output.decode()
    for marker in [*MARKERS, "\\x1b[31;1mRED", "\\x9b", "\\xff\\xfe"]:
        assert marker in text, f"{marker!r} not shown"
    assert text.count("scope ") >= sent - 3  # every exchange the app saw has its line


def test_printer_plain_and_styled_on_recorded_hostile_traffic():
    """The same checks on both printers, piped (plain) and forced colour, for the
    events of a real session (no terminal needed)."""
    recorder = Recorder()
    server = LoopThread(Server(Config(port=0, lifespan="off"), hostile_app, recorder))
    server.start()
    try:
        send_hostile_traffic(server.source.port, ["osc52-clipboard", "bidi", "c1", "rich-markup"])
    finally:
        server.stop(5)
    events = recorder.drain()
    for color in (False, True):
        out = io.StringIO()
        Printer(file=out, color=color).print(events)
        written = out.getvalue()
        assert terminal_output_unsafe(written.encode()) == [], color
        assert "\\x1b]52;c;SGVsbG8=\\x07" in written


# the TUI, on real traffic


def _check_screen(app: ScopeApp, where: str) -> None:
    width = app.size.width
    for y, strip in enumerate(app.screen._compositor.render_strips()):
        assert strip.cell_length <= width, f"{where}: line {y} is {strip.cell_length} wide"
        for segment in strip:
            bad = unsafe_in(segment.text)
            assert not bad, f"{where}: line {y} shows {bad} raw: {segment.text[:80]!r}"


def test_tui_shows_hostile_traffic_escaped_with_its_layout_intact():
    recorder = Recorder()
    server = LoopThread(Server(Config(port=0, lifespan="off"), hostile_app, recorder))
    server.start()
    ui = ScopeApp(recorder, app_name="hostile", url=server.url, on_quit=server.stop)
    seen: set[str] = set()

    async def main() -> None:
        async with ui.run_test(size=(120, 36)) as pilot:
            sent = await asyncio.to_thread(send_hostile_traffic, server.source.port)
            table = ui.query_one(ExchangeTable)
            deadline = time.monotonic() + 15
            while table.row_count < sent:
                assert time.monotonic() < deadline, f"{table.row_count} of {sent} rows"
                await pilot.pause(0.05)
            ui.action_toggle_follow()  # follow off: the cursor stays where it is put
            # A third of the rows (a stride of 3 meets every vector of every string,
            # which come 4 to a string); every tab for a ninth. The table's rows
            # are all checked on each screen.
            for row in range(0, table.row_count, 3):
                table.move_cursor(row=row)
                await settle(ui, pilot)  # the detail follows
                _check_screen(ui, f"row {row}, Messages")
                seen.add(_screen(ui))
                if row % 9 == 0:  # the actions the keys s, x, t, d and m run
                    for tab in ("scope", "hex", "timeline", "sequence", "messages"):
                        ui.action_show_tab(tab)
                        await settle(ui, pilot)
                        _check_screen(ui, f"row {row}, tab {tab}")
                        seen.add(_screen(ui))
            rows = len(range(0, table.row_count, 3))
            assert len(seen) > rows, "the screen did not follow the selection"
            await pilot.press("l")  # the notes: warnings and errors with hostile text
            await settle(ui, pilot)
            _check_screen(ui, "notes")

    try:
        asyncio.run(main())
    finally:
        server.stop(5)
    everything = "\n".join(seen)
    for marker in MARKERS:
        assert marker in everything, f"{marker!r} never shown"


def _screen(app: ScopeApp) -> str:
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


# a snapshot, on a fixed synthetic trace


def hostile_trace() -> Traffic:
    t = Traffic()
    t.connect(1)
    t.http(
        1,
        "POST",
        "/p/" + CORPUS["osc52-clipboard"] + CORPUS["bidi"],
        headers=[(b"x-link", CORPUS["osc8-link"].encode()), (b"x-c1", CORPUS["c1"].encode())],
        body=CORPUS["csi-clear"].encode() + INVALID_UTF8,
        response=CORPUS["textual-markup"].encode(),
    )
    t.http(1, "GET", "/" + CORPUS["rich-markup"], raises=CORPUS["osc-title"] + CORPUS["c0"])
    t.http(1, "GET", "/long/" + CORPUS["long-line"][:400])
    t.note("warning: " + CORPUS["csi-color"] + CORPUS["zero-width"], "warning")
    return t


@pytest.mark.parametrize("tab", ["m", "s", "x"])
def test_snapshot_hostile_trace(snap_compare: Any, tab: str, monkeypatch: Any) -> None:
    # The OpenTelemetry ids in the Scope tab are keyed per process: fixed here.
    monkeypatch.setattr(SESSION, "_key", bytes(16))
    # The trace's warning toast is part of the picture: it must not time out
    # (5 s) while a loaded machine drains and settles.
    monkeypatch.setattr(ScopeApp, "NOTIFICATION_TIMEOUT", 3600)
    recorder = hostile_trace().recorder

    async def show(pilot: Any) -> None:
        # Every event drained into the table first (a loaded machine may run the
        # first drain after the keys), then each key's screen settled.
        deadline = time.monotonic() + 15
        while recorder._pending or not pilot.app.query_one(ExchangeTable).row_count:
            assert time.monotonic() < deadline, "the trace was never drained"
            await pilot.pause(0.05)
        await settle(pilot.app, pilot)
        await pilot.press("k", "k")  # the POST
        await settle(pilot.app, pilot)
        await pilot.press(tab)
        await settle(pilot.app, pilot)

    app = ScopeApp(recorder, app_name="hostile:app", url="http://127.0.0.1:8000")
    assert snap_compare(app, terminal_size=(100, 30), run_before=show)
