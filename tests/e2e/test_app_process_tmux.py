"""The app process dies under the TUI: the inspector stays, with the fatal
request's trace and a red note, until ``q`` (in tmux, read as a person would)."""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

from tests.e2e.test_tmux import COMMAND, Terminal

LISTENING = re.compile(r"listening on (http://127\.0\.0\.1:\d+) ")
"""The whole listening note (a space after the port: never a port half drawn)."""


def served_url(term: Terminal) -> str:
    """The URL the asgi-scope in ``term`` serves on, read from its listening note."""
    screen = term.wait_for(lambda s: LISTENING.search(s) is not None)
    return LISTENING.search(screen).group(1)  # type: ignore[union-attr]


def test_os_exit_keeps_the_trace_on_screen_with_a_red_note_and_q_quits() -> None:
    term = Terminal([COMMAND, "tests.apps.process:app", "--port", "0"])
    try:
        url = served_url(term)
        subprocess.run(["curl", "-s", "--max-time", "5", f"{url}/exit"], capture_output=True)
        term.wait_for(lambda s: "exit code 7" in s and "/exit" in s)
        term.press("Enter")  # the /exit exchange, selected: its messages
        term.wait_for(lambda s: "http.response.start" in s and "aborted" in s)
        assert not term.dead()
        term.press("q")
        deadline = time.monotonic() + 15
        while not term.dead() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert term.dead(), term.screen()
    finally:
        term.close()


def test_app_output_shows_its_colour_and_escapes_osc_52() -> None:
    term = Terminal([COMMAND, "tests.apps.process:app", "--port", "0"])
    try:
        url = served_url(term)
        subprocess.run(["curl", "-s", "--max-time", "5", f"{url}/print"], capture_output=True)
        term.wait_for(lambda s: "/print" in s)
        term.press("l")  # the panel: the line whole (the Messages list shows it cut)
        screen = term.wait_for(lambda s: "red text plain" in s and "copy " in s)
        assert "\\x1b]52;c;aGVsbG8=\\x07" in screen  # shown escaped, never sent to the terminal
        assert "\\x1b[31m" not in screen  # the colour is a colour, not text
        styled = subprocess.run(
            [*term.tmux, "capture-pane", "-p", "-e", "-t", term.name],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        # The notes panel's line, whole (the Messages list lists it too, uncoloured and cut).
        lines = styled.splitlines()
        line = next(x for x in lines if "red text plain" in re.sub(r"\x1b\[[0-9;]*m", "", x))
        colours = re.findall(r"\x1b\[38;[0-9;]+m", line)
        red = re.findall(r"\x1b\[38;[0-9;]+m", line[: line.index("red text")])[-1]
        plain = re.findall(r"\x1b\[38;[0-9;]+m", line[line.index("red text") :])[0]
        assert red != plain and colours.count(red) == 1, line  # its own colour, only there
    finally:
        term.close()


def test_output_lines_are_listed_in_their_exchange_and_named_in_the_notes_panel() -> None:
    term = Terminal([COMMAND, "tests.apps.process:app", "--port", "0"])
    try:
        url = served_url(term)
        subprocess.run(["curl", "-s", "--max-time", "5", f"{url}/print"], capture_output=True)
        # Followed, /print is selected: its Messages list has the lines it printed.
        listed = re.compile(r"app → output .*output +red te")  # its colour left out
        screen = term.wait_for(lambda s: listed.search(s) is not None and "copy " in s)
        row = next(line for line in screen.splitlines() if "/print" in line)
        exchange = re.search(r"(\d+)\s+\d+\s+GET\s+/print", row).group(1)  # type: ignore[union-attr]
        term.press("l")
        term.wait_for(lambda s: re.search(rf"output\s+#{exchange} red text plain", s) is not None)
    finally:
        term.close()


RELOADED = """
import asyncio

async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({{"type": "lifespan.startup.complete"}})
        await send({{"type": "lifespan.shutdown.complete"}})
        return
    await send({{"type": "http.response.start", "status": 200, "headers": []}})
    await send({{"type": "http.response.body", "body": b"{version}"}})
"""


def test_a_reload_has_a_row_a_timeline_mark_and_is_there_when_the_capture_is_opened(
    tmp_path: Path,
) -> None:
    module, record = tmp_path / "edited.py", tmp_path / "trace.jsonl"
    module.write_text(RELOADED.format(version="one"))
    command = [
        COMMAND, "edited:app", "--app-dir", str(tmp_path), "--port", "0",
        "--reload", "--reload-dir", str(tmp_path), "--reload-delay", "0.05",
        "--record", str(record),
    ]  # fmt: skip
    term = Terminal(command)
    row = re.compile(r"↻\s+reload\s+reloaded: /tmp")  # the path, cut to the column
    try:
        listening = re.compile(r"listening on (http://127\.0\.0\.1:(\d+)) ")
        screen = term.wait_for(lambda s: listening.search(s) is not None)
        url = listening.search(screen).group(1)  # type: ignore[union-attr]
        # one request first: with none, the table waits behind its "no requests yet" page
        subprocess.run(["curl", "-s", "--max-time", "5", url + "/"], capture_output=True)
        term.wait_for(lambda s: "GET" in s)
        module.write_text(RELOADED.format(version="two"))
        term.wait_for(lambda s: row.search(s) is not None)
        # The new process's lifespan, which started just before the reload was told:
        # its Timeline marks the reload at its time.
        term.press("End", "t")
        # the mark sits at its time; its words are cut at the right edge, to nothing at the end
        term.wait_for(lambda s: re.search(r"↻ reload\s+↻", s) is not None)
        term.press("q")
        deadline = time.monotonic() + 15
        while not term.dead() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert term.dead(), term.screen()
    finally:
        term.close()
    opened = Terminal([COMMAND, "open", str(record)])
    try:
        opened.wait_for(lambda s: row.search(s) is not None)
    finally:
        opened.close()
