"""End to end, as a person would: the installed ``asgi-scope`` in a real
terminal (tmux) on the FastAPI test app, requests sent with curl, the screen read
back with ``tmux capture-pane``.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
COMMAND = str(Path(sys.executable).with_name("asgi-scope"))

if not (shutil.which("tmux") and shutil.which("curl")):
    if os.environ.get("CI"):
        raise RuntimeError("CI must install tmux and curl (.ci/run does)")
    pytest.skip("needs tmux and curl", allow_module_level=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def terminal_env() -> dict[str, str]:
    """This process's environment for a command in tmux, without ``COLUMNS`` and
    ``LINES``: they would override the pane's size (pytest-xdist's workers set
    them to 80 and 24)."""
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    return {**env, "TERM": "xterm-256color"}


class Terminal:
    """One tmux session running one command, 120 columns by ``height`` lines, on
    a tmux server of its own (``-L``): parallel tests never share a server, so
    one test's server exiting cannot fail another's ``new-session``."""

    def __init__(self, command: list[str], height: int = 36) -> None:
        self.name = f"asgi-scope-e2e-{uuid.uuid4().hex[:8]}"
        subprocess.run(
            [
                *self.tmux,
                "new-session",
                "-d",
                "-s",
                self.name,
                "-x",
                "120",
                "-y",
                str(height),
                "-c",
                str(ROOT),
                *command,
            ],
            check=True,
            env=terminal_env(),
        )
        subprocess.run(
            [*self.tmux, "set-option", "-t", self.name, "remain-on-exit", "on"], check=True
        )

    @property
    def tmux(self) -> list[str]:
        """The tmux command line for this terminal's own server."""
        return ["tmux", "-L", self.name]

    def screen(self) -> str:
        """The visible screen as plain text."""
        return subprocess.run(
            [*self.tmux, "capture-pane", "-p", "-t", self.name],
            capture_output=True,
            text=True,
            check=True,
        ).stdout

    def wait_for(self, predicate: Callable[[str], bool], timeout: float = 15) -> str:
        """Poll the screen until ``predicate(screen)`` holds; fail with the screen."""
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if predicate(screen):
                return screen
            time.sleep(0.1)
        raise AssertionError(f"screen never matched; last screen:\n{screen}")

    def press(self, *keys: str) -> None:
        subprocess.run([*self.tmux, "send-keys", "-t", self.name, *keys], check=True)

    def dead(self) -> bool:
        out = subprocess.run(
            [*self.tmux, "display-message", "-p", "-t", self.name, "#{pane_dead}"],
            capture_output=True,
            text=True,
        ).stdout.strip()
        return out == "1"

    def close(self) -> None:
        subprocess.run([*self.tmux, "kill-server"], capture_output=True)


@pytest.fixture
def fastapi_in_tmux() -> Iterator[tuple[Terminal, str]]:
    port = free_port()
    term = Terminal([COMMAND, "tests.apps.fastapi_app:app", "--port", str(port)])
    try:
        yield term, f"http://127.0.0.1:{port}"
    finally:
        term.close()


def curl(*args: str) -> str:
    return subprocess.run(
        ["curl", "-s", "--max-time", "5", *args], capture_output=True, text=True, check=True
    ).stdout


def test_requests_sent_with_curl_appear_on_the_screen(fastapi_in_tmux) -> None:
    term, url = fastapi_in_tmux
    term.wait_for(lambda s: url in s)

    assert curl(f"{url}/items/42?q=hello") == '{"item_id":42,"q":"hello"}'
    curl("-H", "content-type: application/json", "-d", '{"name":"Ada","age":36}', f"{url}/user")
    curl(f"{url}/boom")

    # A row appears with its request and gets its status on a later redraw.
    rows = [("GET", "/items/42", "200"), ("POST", "/user", "200"), ("GET", "/boom", "500")]
    term.wait_for(
        lambda s: all(any(all(w in line for w in row) for line in s.splitlines()) for row in rows)
    )


def test_quitting_stops_the_server(fastapi_in_tmux) -> None:
    term, url = fastapi_in_tmux
    term.wait_for(lambda s: url in s)
    curl(f"{url}/")
    term.wait_for(lambda s: "GET" in s)
    term.press("q")
    deadline = time.monotonic() + 15
    while not term.dead() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert term.dead(), term.screen()
    port = int(url.rsplit(":", 1)[1])
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        pass


def test_a_second_q_quits_at_once_while_the_app_blocks_its_loop() -> None:
    """The first ``q`` asks the server to stop (it cannot: the app holds its loop
    in ``time.sleep(60)``); the second quits without waiting for the app."""
    term = Terminal([COMMAND, "tests.apps.blocking:app", "--port", "0"])
    blocked = None
    try:
        hint = re.compile(r"curl (http://127\.0\.0\.1:\d+)/")  # whole: it ends with "/"
        url = hint.search(term.wait_for(hint.search)).group(1)  # type: ignore[union-attr]
        blocked = subprocess.Popen(["curl", "-s", "--max-time", "90", f"{url}/block"])
        term.wait_for(lambda s: "/block" in s)
        term.press("q")
        term.wait_for(lambda s: "press q again" in s)
        term.press("q")
        deadline = time.monotonic() + 20  # far less than the 60 s the app blocks
        while not term.dead() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert term.dead(), term.screen()
    finally:
        term.close()
        if blocked is not None:
            blocked.kill()
            blocked.wait()
