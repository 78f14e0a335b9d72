"""End to end, as a person would: ``asgi-scope`` in tmux on the bodies app
(Starlette with GZipMiddleware, sse-starlette), curl asking for gzip and
leaving an event stream, the Body and Stream tabs read off the screen."""

from __future__ import annotations

import re
import subprocess

from tests.e2e.test_tmux import COMMAND, Terminal, curl


def urls(screen: str) -> list[str]:
    return re.findall(r"http://127\.0\.0\.1:\d+(?=\s)", screen)


def test_gzipped_json_reads_pretty_and_a_left_stream_is_client_gone() -> None:
    term = Terminal([COMMAND, "tests.apps.bodies:app", "--port", "0"], height=50)
    try:
        # the port read once the screen is drawn: the header's URL and the
        # notes bar's "listening on" the same (never a line half drawn)
        screen = term.wait_for(lambda s: len(set(urls(s))) == 1 and len(urls(s)) >= 2)
        url = urls(screen)[0]
        assert '"total":60' in curl("--compressed", f"{url}/json")
        term.wait_for(lambda s: "/json" in s and "done" in s)
        term.press("o")
        screen = term.wait_for(lambda s: '"name": "item 0",' in s)
        assert "application/json  gzip:" in screen
        assert "\x1b" not in screen
        # curl leaves the endless stream after a second: the client is gone
        subprocess.run(
            ["curl", "-s", "-N", "--max-time", "1", f"{url}/events?gap=0.1"],
            capture_output=True,
        )
        term.wait_for(lambda s: "/events" in s and "client gone" in s)
        term.press("E")
        # DataTable sizes its columns on idle, after the first frame of new rows:
        # wait for the settled frame, whose data column holds a whole event
        screen = term.wait_for(lambda s: len(re.findall(r"\btick\b", s)) >= 3 and '{"n": 0}' in s)
        header = term.wait_for(lambda s: "client gone 1" in s.splitlines()[0]).splitlines()[0]
        assert "errors 0" in header
    finally:
        term.close()
