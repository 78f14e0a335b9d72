"""End to end in a real terminal (tmux), as a person would: ``asgi-scope attach``
on uvicorn workers running the FastAPI app in TraceMiddleware, detached and
attached again while they serve; and ``asgi-scope proxy`` in front of
``python -m http.server``, whose death turns into 502 rows."""

from __future__ import annotations

import os
import re
import select
import sys
import time
from pathlib import Path

from tests.e2e.test_tmux import COMMAND, Terminal, curl
from tests.remote.servers import SERVE_ARGS, Processes


def test_attach_detach_and_attach_again_while_uvicorn_workers_serve(tmp_path: Path) -> None:
    sock = f"/tmp/as-e2e-{os.getpid()}-{time.monotonic_ns() % 10**6}.sock"
    procs = Processes()
    # Tall enough for every row: each worker's lifespan row may come before,
    # between or after the requests, as the two streams arrive.
    term = Terminal([COMMAND, "attach", f"unix:{sock}"], height=60)
    again = None
    try:
        term.wait_for(lambda s: "Waiting for a stream" in s)
        _, url = procs.server("uvicorn", "tests.apps.traced:app", f"unix:{sock}", workers=2)
        for i in range(6):
            assert curl(f"{url}/items/{i}") == f'{{"item_id":{i},"q":null}}'

        def rows(screen: str) -> list[str]:
            pattern = r"\s*\d+\s+\S+\s+GET\s+/items/"
            return [line for line in screen.splitlines() if re.match(pattern, line)]

        # Two workers stream apart: their rows may come in separate redraws.
        screen = term.wait_for(lambda s: len(rows(s)) == 6)
        rows = rows(screen)
        assert all(re.match(r"\s*\d+\s+\d+·\d+\s", row) for row in rows), screen  # pid·conn
        term.press("q")
        deadline = time.monotonic() + 10
        while not term.dead() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert term.dead(), term.screen()
        assert not os.path.exists(sock)
        # Detached: the workers serve on.
        assert curl(f"{url}/items/99") == '{"item_id":99,"q":null}'
        again = Terminal([COMMAND, "attach", f"unix:{sock}"])
        again.wait_for(lambda s: "Waiting for a stream" in s or "attached" in s)
        time.sleep(1.5)  # the workers retry once a second
        curl(f"{url}/items/123")
        curl(f"{url}/items/124")
        screen = again.wait_for(lambda s: "/items/12" in s)
        assert "/items/99" not in screen
    finally:
        term.close()
        if again is not None:
            again.close()
        procs.stop_all()


def test_proxy_in_front_of_http_server_and_its_death(tmp_path: Path) -> None:
    (tmp_path / "hello.txt").write_text("hi\n")
    procs = Processes()
    # Both on port 0, each port read from its own words: never a port another
    # process took between a free_port() and the bind.
    args = [sys.executable, "-u", "-m", "http.server", "0", "--bind", "127.0.0.1"]
    upstream = procs.spawn([*args, "--directory", str(tmp_path)])
    assert upstream.stdout is not None
    ready, _, _ = select.select([upstream.stdout], [], [], 20)
    assert ready, "http.server never said where it serves"
    serving = re.search(r"port (\d+)", upstream.stdout.readline())
    assert serving is not None
    upstream_port = int(serving.group(1))
    term = Terminal([COMMAND, "proxy", f"http://127.0.0.1:{upstream_port}", "--port", "0"])
    try:
        # the header's URL and the notes bar's "listening on" the same: both drawn whole
        urls = re.compile(r"http://127\.0\.0\.1:\d+(?=\s)").findall
        screen = term.wait_for(lambda s: len(urls(s)) >= 2 and len(set(urls(s))) == 1)
        url = urls(screen)[0]
        assert curl(f"{url}/hello.txt") == "hi\n"
        term.wait_for(lambda s: "/hello.txt" in s and "200" in s)
        procs.stop(upstream)
        body = curl(f"{url}/gone")
        assert body.startswith("502 Bad Gateway: asgi-scope proxy: upstream") and "refused" in body
        # The row appears when the request arrives and gets its status on a
        # later redraw: wait for the redraw that has both.
        term.wait_for(lambda s: any("/gone" in line and "502" in line for line in s.splitlines()))
    finally:
        term.close()
        procs.stop_all()


def test_attach_otlp_listen_shows_an_instrumented_apps_requests() -> None:
    """The real OpenTelemetry exporter of an instrumented FastAPI app sends to
    ``attach --otlp-listen`` in tmux: the request is a row (marked ``otel``, no
    bytes), its Scope tab says there is no scope and shows the span."""
    sock = f"/tmp/as-e2e-{os.getpid()}-{time.monotonic_ns() % 10**6}.sock"
    procs = Processes()
    term = Terminal([COMMAND, "attach", f"unix:{sock}", "--otlp-listen", "127.0.0.1:0"])
    try:
        found = re.compile(r"OTLP/HTTP on (http://127\.0\.0\.1:\d+) ").search
        screen = term.wait_for(lambda s: found(s) is not None and "OTLP_ENDPOINT=" in s)
        assert "Waiting for OpenTelemetry spans" in screen and "Waiting for a stream" in screen
        otlp = found(screen).group(1)  # type: ignore[union-attr]
        args, listening = SERVE_ARGS["uvicorn"]
        app = procs.watch(
            [sys.executable, *args, "tests.apps.otel_app:app"],
            {"OTEL_EXPORTER_OTLP_ENDPOINT": otlp},
        )
        url = "http://" + app.wait_for(listening)[1]
        assert curl(f"{url}/items/7?q=otel") == '{"item_id":7,"q":"otel"}'
        row = re.compile(r"\s*\d+\s+otel\s+GET\s+/items/7\?q=otel\s+200\s.*–.*done")
        screen = term.wait_for(lambda s: any(row.match(line) for line in s.splitlines()))
        term.press("enter")
        term.wait_for(lambda s: "Messages" in s)
        term.press("s")  # the Scope tab
        screen = term.wait_for(lambda s: "no scope snapshot" in s)
        assert "otel-test-app" in screen  # the resource's service.name, shown with the span
    finally:
        term.close()
        procs.stop_all()
