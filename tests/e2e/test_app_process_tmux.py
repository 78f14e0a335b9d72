"""The app process dies under the TUI: the inspector stays, with the fatal
request's trace and a red note, until ``q`` (in tmux, read as a person would)."""

from __future__ import annotations

import re
import subprocess
import time

from tests.e2e.test_tmux import COMMAND, Terminal


def test_os_exit_keeps_the_trace_on_screen_with_a_red_note_and_q_quits() -> None:
    term = Terminal([COMMAND, "tests.apps.process:app", "--port", "0"])
    try:
        listening = re.compile(r"listening on (http://127\.0\.0\.1:\d+) ")  # the whole note
        screen = term.wait_for(lambda s: listening.search(s) is not None)
        url = listening.search(screen).group(1)  # type: ignore[union-attr]
        subprocess.run(["curl", "-s", "--max-time", "5", f"{url}/exit"], capture_output=True)
        screen = term.wait_for(lambda s: "exit code 7" in s and "/exit" in s)
        term.press("Enter")  # the /exit exchange, selected: its messages
        screen = term.wait_for(lambda s: "http.response.start" in s and "aborted" in s)
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
        listening = re.compile(r"listening on (http://127\.0\.0\.1:\d+) ")
        screen = term.wait_for(lambda s: listening.search(s) is not None)
        url = listening.search(screen).group(1)  # type: ignore[union-attr]
        subprocess.run(["curl", "-s", "--max-time", "5", f"{url}/print"], capture_output=True)
        term.wait_for(lambda s: "/print" in s)
        term.press("l")
        screen = term.wait_for(lambda s: "red text" in s and "copy " in s)
        assert "\\x1b]52;c;aGVsbG8=\\x07" in screen  # shown escaped, never sent to the terminal
        assert "\\x1b[31m" not in screen  # the colour is a colour, not text
        styled = subprocess.run(
            ["tmux", "capture-pane", "-p", "-e", "-t", term.name],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        line = next(line for line in styled.splitlines() if "red text" in line)
        colours = re.findall(r"\x1b\[38;[0-9;]+m", line)
        red = re.findall(r"\x1b\[38;[0-9;]+m", line[: line.index("red text")])[-1]
        plain = re.findall(r"\x1b\[38;[0-9;]+m", line[line.index("red text") :])[0]
        assert red != plain and colours.count(red) == 1, line  # its own colour, only there
    finally:
        term.close()
