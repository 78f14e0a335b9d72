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
        screen = term.wait_for(lambda s: re.search(r"http://127\.0\.0\.1:\d+", s) is not None)
        url = re.search(r"http://127\.0\.0\.1:\d+", screen).group(0)  # type: ignore[union-attr]
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
