"""End to end, as a person would: ``asgi-scope --step`` in a real terminal (tmux),
curl waiting on a held response, its head edited with M (a header added) and
sent with ctrl+s; curl receives the edited header. The edit crosses from the
inspector to the app process as a command."""

from __future__ import annotations

import subprocess
import threading

import pytest

from tests.e2e.test_tmux import COMMAND, Terminal, free_port

pytestmark = pytest.mark.e2e


def test_a_response_header_edited_in_step_mode_reaches_curl() -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    term = Terminal([COMMAND, "--step", "--port", str(port)])
    try:
        term.wait_for(lambda s: url in s and "step mode" in s)
        result: dict[str, str] = {}

        def client() -> None:
            result["out"] = subprocess.run(
                ["curl", "-s", "-i", "--max-time", "30", "-d", "hello", f"{url}/echo"],
                capture_output=True, text=True,
            ).stdout  # fmt: skip

        thread = threading.Thread(target=client, daemon=True)
        thread.start()
        term.wait_for(lambda s: "held" in s and "http.request" in s)
        term.press("Space")
        term.wait_for(lambda s: "held" in s and "http.response.start" in s)
        term.press("M")
        term.wait_for(lambda s: "Edit #" in s and "ctrl+s send" in s and "200 OK" in s)
        # The cursor starts at the end. Only keys the text area takes itself: a
        # binding (End, Down) may run after keys sent behind it.
        term.press("Enter")
        term.press("-l", "x-edited: by hand")
        term.wait_for(lambda s: "x-edited: by hand" in s)
        assert "out" not in result  # curl still waits
        term.press("C-s")
        # Handed over: the app process recorded the edit, and the list marks it
        # (its summary column is narrow at 120 columns: "✎ edite…").
        term.wait_for(lambda s: "http.response.start        ✎ edit" in s and "Edit #" not in s)
        term.wait_for(lambda s: "held" in s and "http.response.body" in s)
        term.press("Space")
        thread.join(15)
        head, _, body = result["out"].partition("\n\n")  # text mode: CRLF read as LF
        assert head.startswith("HTTP/1.1 200 ") and "x-edited: by hand" in head.lower()
        assert body == "hello"
    finally:
        term.close()
