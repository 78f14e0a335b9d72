"""End to end, as a teacher would: ``asgi-scope --step`` in a real terminal (tmux),
curl waiting on a held response while keys are pressed, ``--strict`` and a broken
app, the filter bar and the Sequence tab read back from the screen."""

from __future__ import annotations

import subprocess
import threading
import time

import pytest

from tests.e2e.test_tmux import COMMAND, Terminal, curl, free_port

pytestmark = pytest.mark.e2e


def test_step_mode_holds_curl_until_space() -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    term = Terminal([COMMAND, "--step", "--port", str(port)])
    try:
        term.wait_for(lambda s: url in s and "step mode" in s)
        result: dict[str, str] = {}

        def client() -> None:
            result["body"] = subprocess.run(
                ["curl", "-s", "--max-time", "20", "-d", "hello", f"{url}/echo"],
                capture_output=True, text=True,
            ).stdout  # fmt: skip

        thread = threading.Thread(target=client, daemon=True)
        thread.start()
        term.wait_for(lambda s: "held" in s and "http.request" in s)
        assert "body" not in result  # curl waits
        for expected in ("http.response.start", "http.response.body"):
            term.press("Space")
            term.wait_for(lambda s, e=expected: "held" in s and e in s)
            assert "body" not in result
        term.press("Space")
        thread.join(10)
        assert result["body"] == "hello"
        term.wait_for(lambda s: "will wait here" in s)
    finally:
        term.close()


def test_strict_exit_code_and_the_inspector_on_a_broken_app(tmp_path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    marker = tmp_path / "exit-code"
    term = Terminal(
        # --strict=warning: the capital letters of /Upper are a warning
        ["sh", "-c", f"{COMMAND} tests.apps.broken:app --strict=warning --port {port}; "
         f"echo $? > {marker}"]
    )
    try:
        term.wait_for(lambda s: url in s)
        curl(f"{url}/")
        curl(f"{url}/Upper")
        term.wait_for(lambda s: "/Upper" in s and "⚠1" in s)
        term.press("/")
        term.wait_for(lambda s: "filter: ~m POST" in s)  # the bar has the keys
        term.press("~v")
        rows = lambda s: [line for line in s.splitlines()[:10] if "  GET  " in line]  # noqa: E731
        screen = term.wait_for(lambda s: "~v" in s and len(rows(s)) == 1)
        assert "/Upper" in rows(screen)[0]
        term.press("Enter")
        time.sleep(0.5)  # the table takes the keys back
        term.press("d")
        term.wait_for(lambda s: "client" in s and "server" in s and "app" in s and "scope GET" in s)
        term.press("q")
        term.wait_for(lambda s: term.dead() or "exit" in s.lower(), timeout=20)
        with open(marker) as f:
            assert f.read().strip() == "4"
    finally:
        term.close()
