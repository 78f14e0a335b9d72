"""``asgi-scope proxy --strict`` and ``--report``: the upstream's responses checked
where the proxy can see them. The installed command (port 0, read back from its
own words) forwards a real httpx client's requests to a real upstream on
127.0.0.1 (a raw socket server answering canned bytes, as a broken server in
any language would), and the JSON report lists exactly what the upstream broke.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.live import TIMEOUT
from tests.remote.servers import COMMAND, Processes

ANSWERS = {
    b"/ok": b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok",
    b"/no-content": b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n",
    b"/framed-twice": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n"
    b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
}
"""What the upstream answers per request path (and then closes)."""

NOT_FOUND = b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n"


@pytest.fixture
def upstream() -> Iterator[str]:
    """A raw HTTP/1.1 upstream on 127.0.0.1, port 0: :data:`ANSWERS`, one a connection."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.1)  # to see ``done`` between connections
    done = threading.Event()

    def serve() -> None:
        while not done.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(TIMEOUT)
                head = b""
                while b"\r\n\r\n" not in head:
                    data = conn.recv(4096)
                    if not data:
                        break  # the proxy's reachability probe: connect, close
                    head += data
                parts = head.split(b" ", 2)
                if len(parts) == 3:
                    conn.sendall(ANSWERS.get(parts[1], NOT_FOUND))

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    done.set()
    thread.join(TIMEOUT)
    listener.close()


def test_proxy_strict_reports_what_the_upstream_broke(
    upstream: str, procs: Processes, tmp_path: Path
):
    report = tmp_path / "report.json"
    args = [COMMAND, "proxy", upstream, "--port", "0", "--headless", "--strict=warning",
            "--report", str(report), "--report-format", "json"]  # fmt: skip
    proxy = procs.watch(args)
    url = proxy.wait_for(r"proxy listening on (http://127\.0\.0\.1:\d+)")[1]
    with httpx.Client(base_url=url, timeout=10) as client:
        assert client.get("/ok").text == "ok"
        assert client.get("/no-content").status_code == 204
        framed = client.get("/framed-twice")
    # The Content-Length (3) was dropped: the client gets the whole chunked body.
    assert framed.text == "hello world" and "content-length" not in framed.headers
    proxy.wait_for(r"complete \d{3} in", count=3)
    assert proxy.stop() == 4, proxy.stderr  # --strict=warning: both are warnings
    assert "2 spec violation(s); the first: http.content-length-forbidden" in proxy.stderr
    found = json.loads(report.read_text())
    assert found["app"] == upstream
    assert [(f["rule"], f["severity"], f["detail"]) for f in found["findings"]] == [
        ("http.content-length-forbidden", "warning", "Content-Length on a 204"),
        ("http.transfer-encoding-length", "warning", "the upstream sent Transfer-Encoding "
         "and Content-Length both (its Content-Length dropped: RFC 9112 §6.3)"),
    ]  # fmt: skip


def test_proxy_strict_fails_on_errors_only_by_default(
    upstream: str, procs: Processes, tmp_path: Path
):
    proxy = procs.watch([COMMAND, "proxy", upstream, "--port", "0", "--headless", "--strict"])
    url = proxy.wait_for(r"proxy listening on (http://127\.0\.0\.1:\d+)")[1]
    assert httpx.get(url + "/no-content", timeout=10).status_code == 204
    proxy.wait_for(r"spec warning http\.content-length-forbidden")
    assert proxy.stop() == 0, proxy.stderr  # a warning does not fail a bare --strict
