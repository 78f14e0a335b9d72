"""``asgi-scope attach --strict`` and ``--report``: what another server gives an
app, checked. Real uvicorn, hypercorn and daphne processes (port 0, read back
from their own words) serve the conformance app wrapped in TraceMiddleware,
streaming over a real Unix socket into the installed ``asgi-scope attach
--headless``; a real client exercises the server's side of the contract (the
HTTP and WebSocket scopes, request bodies in chunks, ``websocket.connect``,
``receive``, ``disconnect``, the lifespan state), and the JSON report lists
exactly what each server violates.
"""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from tests.remote.servers import COMMAND, Processes, Watched

SERVERS = ("uvicorn", "hypercorn", "daphne")

VIOLATIONS: dict[str, list[tuple[str, str]]] = {
    "uvicorn": [],
    "hypercorn": [],
    "daphne": [],
}
"""What each server violates, as ``(rule, detail)`` findings, observed with the
versions of the test extra (uvicorn 0.55, hypercorn 0.18, daphne 4.2): nothing.
(daphne leaves ``scheme`` and ``http_version`` out of a WebSocket scope, which
the spec allows: they are optional, ``"ws"`` and ``"1.1"`` by default.)"""

EXCHANGES = 10
"""The HTTP requests and WebSocket sessions :func:`exercise` makes."""


def exercise(url: str) -> None:
    """Every part of the server's side the conformance app can see."""
    with httpx.Client(base_url=url, timeout=10) as client:
        assert client.get("/echo?x=a%20b&y=%C3%A9").status_code == 200
        assert client.get("/caf%C3%A9/a%2Fb?q=1", headers={"x-Mixed": "v"}).status_code == 200

        def parts() -> Iterator[bytes]:
            yield b"one,"
            yield b"two"

        assert client.post("/echo", content=parts()).text == "one,two"
        assert client.post("/echo", content=b"x" * 100_000).status_code == 200
        assert client.get("/state").status_code == 200
        assert client.get("/stream").text == "one\ntwo\nthree\n"
    ws = url.replace("http://", "ws://")
    with connect(ws + "/ws/echo?a=1", subprotocols=["chat"], open_timeout=10) as socket:
        socket.send("hi")
        assert socket.recv(timeout=10) == "hi"
        socket.send(b"\x00\x01")
        assert socket.recv(timeout=10) == b"\x00\x01"
    with connect(ws + "/ws/scope", open_timeout=10) as socket:
        assert json.loads(socket.recv(timeout=10))["path"] == "/ws/scope"
    with pytest.raises(ConnectionClosed), connect(ws + "/ws/close", open_timeout=10) as socket:
        socket.recv(timeout=10)
    with pytest.raises(InvalidStatus):
        connect(ws + "/ws/reject", open_timeout=10)


def attach(procs: Processes, sock: str, report: Path, *extra: str) -> Watched:
    """``asgi-scope attach unix:SOCK --headless --report REPORT ...``, listening."""
    args = [COMMAND, "attach", f"unix:{sock}", "--headless", "--report", str(report), *extra]
    watched = procs.watch(args)
    watched.wait_for("listening for streams")
    return watched


@pytest.mark.parametrize("kind", SERVERS)
def test_attach_strict_reports_what_each_server_gives_the_app(
    kind: str, procs: Processes, sock_path: str, tmp_path: Path
):
    if kind == "daphne":
        pytest.importorskip("daphne")
    report = tmp_path / "report.json"
    listener = attach(procs, sock_path, report, "--strict=warning", "--report-format", "json")
    server, url = procs.serve(kind, "tests.apps.traced:conformance", f"unix:{sock_path}")
    exercise(url)
    listener.wait_for(r"complete \d{3} in", count=EXCHANGES)
    assert server.stop(signal.SIGTERM) is not None
    listener.wait_for(r"pid \d+ detached")  # the stream ended: all it recorded is in
    assert listener.stop() == 0, listener.stderr
    out = listener.stdout
    for scope in ("GET /echo?x=a%20b", "POST /echo", "GET /café/a/b?q=1", "/ws/echo?a=1"):
        assert scope in out, out  # each exchange was seen, and so checked
    findings = json.loads(report.read_text())["findings"]
    assert [(f["rule"], f["detail"]) for f in findings] == VIOLATIONS[kind], out
    assert "SPEC VIOLATION" not in listener.stderr


def test_attach_strict_fails_on_the_apps_error_and_redacts_the_report(
    procs: Processes, sock_path: str, tmp_path: Path
):
    report = tmp_path / "report.json"
    listener = attach(procs, sock_path, report, "--strict", "--report-format", "json")
    server, url = procs.serve("uvicorn", "tests.apps.traced:broken", f"unix:{sock_path}")
    secret = "Bearer s3cret-t0ken"
    with httpx.Client(base_url=url, timeout=10) as client:
        assert client.get("/").status_code == 200
        assert client.get("/Upper").status_code == 200
        with pytest.raises(httpx.RemoteProtocolError):  # uvicorn: the start failed, it closes
            client.get("/leak", headers={"authorization": secret})
    listener.wait_for(r"complete \d{3} in", count=2)
    listener.wait_for("SPEC VIOLATION")
    server.stop(signal.SIGTERM)
    listener.wait_for(r"pid \d+ detached")
    assert listener.stop() == 4  # --strict: the app broke an error rule
    loud = listener.stderr
    assert "SPEC VIOLATION http.headers-shape: header (b'authorization', b'[REDACTED]'" in loud
    assert "1 spec violation(s); the first: http.headers-shape" in loud
    text = report.read_text()
    assert "s3cret" not in text and "s3cret" not in loud
    found = json.loads(text)
    assert found["app"] == "tests.apps.broken:app"
    assert [(f["rule"], f["severity"]) for f in found["findings"]] == [
        ("http.header-lowercase", "warning"),
        ("http.headers-shape", "error"),
    ]
    assert found["findings"][1]["detail"].startswith("header (b'authorization', b'[REDACTED]'")
