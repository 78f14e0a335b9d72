"""``asgi-scope proxy``: asgi-scope's own server on 127.0.0.1 running the
ReverseProxy, forwarding to a real upstream started by the test (uvicorn
serving the FastAPI test app; ``python -m http.server``; a raw socket that
breaks HTTP), with real httpx and raw-socket clients. Both sides are checked
on the wire and in the trace."""

from __future__ import annotations

import asyncio
import socket
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from asgi_scope.proxy.app import ReverseProxy
from asgi_scope.proxy.upstream import parse_upstream
from asgi_scope.trace.events import MessageSent, ProxyTimings, UpstreamBytes
from asgi_scope.ui.app import ScopeApp
from tests.live import Live, free_port
from tests.remote.servers import COMMAND, Processes, wait_port
from tests.ui.conftest import screen_text


@pytest.fixture(scope="module")
def fastapi_upstream() -> Iterator[str]:
    """uvicorn serving the (untraced) FastAPI test app, for the whole module."""
    procs = Processes()
    _, url = procs.server("uvicorn", "tests.apps.fastapi_app:app")
    yield url
    procs.stop_all()


@pytest.fixture
def http_server(tmp_path: Path, procs: Processes) -> str:
    """``python -m http.server`` serving a directory with ``hello.txt``."""
    (tmp_path / "hello.txt").write_text("hello from http.server\n")
    port = free_port()
    args = [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"]
    proc = procs.spawn([*args, "--directory", str(tmp_path)])
    wait_port(port, proc)
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def proxy_to(serve: Callable[..., Live]) -> Callable[[str], Live]:
    """``proxy_to(upstream_url)``: the proxy served by asgi-scope's server on a free
    port, recording the upstream side into the server's own recorder."""

    def start(url: str) -> Live:
        app = ReverseProxy(parse_upstream(url), None, timeout=5.0)
        live = serve(app)
        app.recorder = live.recorder
        return live

    return start


def upstream_bytes(live: Live, exchange: int, direction: str) -> bytes:
    return b"".join(
        e.data for e in live.events(UpstreamBytes, exchange=exchange) if e.direction == direction
    )


def timings(live: Live) -> ProxyTimings:
    return live.wait_for(ProxyTimings)


def test_a_get_goes_upstream_with_via_and_forwarded_fields(fastapi_upstream, proxy_to):
    live = proxy_to(fastapi_upstream)
    response = httpx.get(
        live.url + "/items/42?q=hi", headers={"x-forwarded-for": "10.9.8.7"}, timeout=10
    )
    assert response.status_code == 200 and response.json() == {"item_id": 42, "q": "hi"}
    assert response.headers["via"] == "1.1 asgi-scope"
    assert "x-process-time" in response.headers  # the upstream's own header came through
    timing = timings(live)
    assert timing.status == 200 and not timing.error
    assert timing.upstream == fastapi_upstream
    assert timing.total_ns >= timing.upstream_ns > 0
    sent = upstream_bytes(live, timing.exchange, "out")
    head = sent.split(b"\r\n\r\n")[0].lower()
    upstream_authority = fastapi_upstream.removeprefix("http://").encode()
    assert head.startswith(b"get /items/42?q=hi http/1.1\r\n")
    assert b"\r\nhost: " + upstream_authority in head
    assert b"\r\nvia: 1.1 asgi-scope" in head
    assert b"\r\nx-forwarded-for: 10.9.8.7, 127.0.0.1" in head
    assert b"\r\nx-forwarded-host: " + live.url.removeprefix("http://").encode() in head
    assert b"\r\nx-forwarded-proto: http" in head
    received = upstream_bytes(live, timing.exchange, "in")
    assert received.startswith(b"HTTP/1.1 200 OK\r\n") and received.endswith(b'"q":"hi"}')
    # The exchange as an ASGI app would have seen it: a response start and body.
    live.collect()
    types = [e.message["type"] for e in live.events(MessageSent, exchange=timing.exchange)]
    assert types[0] == "http.response.start" and types[-1] == "http.response.body"


def test_a_chunked_upload_streams_through(fastapi_upstream, proxy_to):
    live = proxy_to(fastapi_upstream)

    def parts() -> Iterator[bytes]:
        yield b'{"name": "Ada", '
        yield b'"age": 36}'

    response = httpx.post(
        live.url + "/user",
        content=parts(),
        headers={"content-type": "application/json"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"name": "Ada", "age": 36, "id": 1}
    sent = upstream_bytes(live, timings(live).exchange, "out")
    head, _, body = sent.partition(b"\r\n\r\n")
    assert b"\r\ntransfer-encoding: chunked" in head.lower()
    assert body.endswith(b"0\r\n\r\n") and b"Ada" in body


def test_a_streaming_response_arrives_as_several_body_messages(fastapi_upstream, proxy_to):
    live = proxy_to(fastapi_upstream)
    response = httpx.get(live.url + "/stream", timeout=10)
    assert response.status_code == 200
    assert response.text.count("\n") == 3
    exchange = timings(live).exchange
    live.collect()
    bodies = [
        e
        for e in live.events(MessageSent, exchange=exchange)
        if e.message["type"] == "http.response.body" and e.message.get("body")
    ]
    assert len(bodies) >= 2  # not buffered whole


def test_the_client_never_chooses_the_host(fastapi_upstream, proxy_to):
    """An absolute-form target or a strange Host goes to the upstream all the same;
    CONNECT is refused: no open proxy."""
    live = proxy_to(fastapi_upstream)
    with live.connect() as raw:
        raw.send(b"GET http://example.invalid/items/7 HTTP/1.1\r\nHost: example.invalid\r\n\r\n")
        response = raw.read_response()
    assert response.status == 200 and b'"item_id":7' in response.body
    with live.connect() as raw:
        raw.send(b"CONNECT example.invalid:443 HTTP/1.1\r\nHost: example.invalid:443\r\n\r\n")
        response = raw.read_response()
    assert response.status in (400, 405)
    assert not [
        e
        for e in live.collect().events
        if isinstance(e, UpstreamBytes) and b"example.invalid:443" in e.data
    ]


def test_python_http_server_upstream(http_server, proxy_to):
    live = proxy_to(http_server)
    with httpx.Client(base_url=live.url, timeout=10) as client:
        hello = client.get("/hello.txt")
        missing = client.get("/missing")
    assert hello.status_code == 200 and hello.text == "hello from http.server\n"
    assert missing.status_code == 404
    live.collect(lambda s: len(live.events(ProxyTimings)) == 2)
    first = live.events(ProxyTimings)[0]
    # http.server answers HTTP/1.0 and closes: the proxy re-frames for the client.
    assert upstream_bytes(live, first.exchange, "in").startswith(b"HTTP/1.0 200 OK\r\n")


def test_an_upstream_that_is_down_is_a_502_that_says_why(proxy_to):
    dead = f"http://127.0.0.1:{free_port()}"
    live = proxy_to(dead)
    response = httpx.get(live.url + "/anything", timeout=10)
    assert response.status_code == 502
    assert response.text == (
        f"502 Bad Gateway: asgi-scope proxy: upstream {dead}: connection refused\n"
    )
    timing = timings(live)
    assert timing.error == "connection refused" and timing.status == 0
    store = live.collect(lambda s: s.exchanges[timing.exchange].t_end)
    exchange = store.exchanges[timing.exchange]
    assert exchange.state == "error" and exchange.error == "upstream: connection refused"
    assert exchange.status == 502


class Garbage:
    """An "upstream" that answers every connection with ``answer`` (default: bytes
    that are not HTTP), then closes; ``answer=None`` never answers at all."""

    def __init__(self, answer: bytes | None = b"\x1b[31mSSH-2.0-OpenSSH nonsense\r\n\r\n"):
        self.answer = answer
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            with conn:
                conn.settimeout(2)
                try:
                    conn.recv(65536)
                    if self.answer is None:
                        self._stop.wait(3)
                    else:
                        conn.sendall(self.answer)
                except OSError:
                    pass

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.sock.close()


def test_an_upstream_that_breaks_http_is_a_502(proxy_to):
    garbage = Garbage()
    try:
        live = proxy_to(garbage.url)
        response = httpx.get(live.url + "/", timeout=10)
    finally:
        garbage.close()
    assert response.status_code == 502
    assert "broke HTTP/1.1" in response.text
    assert "\x1b" not in response.text.split("broke HTTP/1.1")[0]
    assert "broke HTTP/1.1" in timings(live).error


def test_an_upstream_that_never_answers_is_a_504(serve):
    silent = Garbage(answer=None)
    try:
        app = ReverseProxy(parse_upstream(silent.url), None, timeout=0.5)
        live = serve(app)
        app.recorder = live.recorder
        response = httpx.get(live.url + "/slow", timeout=10)
    finally:
        silent.close()
    assert response.status_code == 504
    assert response.text.endswith(": no answer within 0.5 s\n")
    assert timings(live).error == "no answer within 0.5 s"


def test_an_upstream_that_dies_mid_body_breaks_the_client_connection(proxy_to):
    from asgi_scope.trace.events import AppRaised

    short = Garbage(answer=b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nonly ten b")
    try:
        live = proxy_to(short.url)
        with live.connect() as raw:
            raw.send(b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
            status, _, _, _ = raw.read_head()
            rest = raw.read_eof()  # the server closes: the body can never be whole
    finally:
        short.close()
    assert status == 200 and len(rest) < 100
    raised = live.wait_for(AppRaised)
    assert raised.exc_type == "UpstreamFailed"
    assert "without sending complete message body (received 10 bytes, expected 100)" in (
        raised.message
    )
    assert timings(live).status == 200


def test_the_tui_shows_both_sides(fastapi_upstream, proxy_to):
    live = proxy_to(fastapi_upstream)
    ui = ScopeApp(live.recorder, app_name="proxy", url=live.url)

    async def main() -> None:
        async with ui.run_test(size=(130, 45)) as pilot:
            response = await asyncio.to_thread(httpx.get, live.url + "/items/3", timeout=10)
            assert response.status_code == 200
            for _ in range(100):
                await pilot.pause(0.03)
                if any(x.t_end for x in ui.store.exchanges.values()):
                    break
            await pilot.press("x")
            await pilot.pause(0.1)
            text = screen_text(ui)
            assert "upstream request:" in text  # between the client's request and response
            ui.query_one("#hex").scroll_end(animate=False)
            await pilot.pause(0.1)
            assert "upstream response:" in screen_text(ui) or "response:" in screen_text(ui)
            await pilot.press("t")
            await pilot.pause(0.1)
            text = screen_text(ui)
            assert f"upstream {fastapi_upstream}: 200; client" in text

    asyncio.run(main())


# -- the command -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("https://127.0.0.1:9", "must be an http:// URL"),
        ("ftp://x", "must be an http:// URL"),
        ("http://", "no host"),
    ],
)
def test_a_bad_upstream_url_is_one_line_and_exit_1(procs: Processes, url, words):
    proc = procs.spawn([COMMAND, "proxy", url, "--headless", "--port", "0"])
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 1
    assert len(err.strip().splitlines()) == 1 and words in err, err


def test_a_port_in_use_is_one_line_and_exit_1(procs: Processes, fastapi_upstream):
    with socket.create_server(("127.0.0.1", 0)) as busy:
        port = busy.getsockname()[1]
        proc = procs.spawn([COMMAND, "proxy", fastapi_upstream, "--headless", "--port", str(port)])
        _, err = proc.communicate(timeout=20)
    assert proc.returncode == 1
    assert len(err.strip().splitlines()) == 1 and "address already in use" in err.lower(), err


def test_the_command_forwards_and_prints_both_sides(procs: Processes, fastapi_upstream):
    port = free_port()
    proc = procs.spawn([COMMAND, "proxy", fastapi_upstream, "--headless", "--port", str(port)])
    wait_port(port, proc)
    response = httpx.get(f"http://127.0.0.1:{port}/items/5", timeout=10)
    assert response.json() == {"item_id": 5, "q": None}
    out, err = procs.stop(proc)
    assert proc.returncode == 0, err
    assert "scope GET /items/5 HTTP/1.1" in out
    assert "⇉ upstream sent" in out and "⇇ upstream received" in out
    assert f"upstream {fastapi_upstream}: 200; client" in out


# -- WebSocket ---------------------------------------------------------------------------


def test_a_websocket_session_is_relayed_both_ways(fastapi_upstream, proxy_to):
    from websockets.sync.client import connect

    from asgi_scope.trace.events import WebSocketFrame

    live = proxy_to(fastapi_upstream)
    with connect(live.url.replace("http", "ws") + "/ws/echo", open_timeout=5) as ws:
        ws.send("hello")
        assert ws.recv(timeout=5) == "echo: hello"
        ws.send("again")
        assert ws.recv(timeout=5) == "echo: again"
    timing = timings(live)
    assert timing.status == 101 and not timing.error
    sent = upstream_bytes(live, timing.exchange, "out")
    head = sent.split(b"\r\n\r\n")[0].lower()
    assert head.startswith(b"get /ws/echo http/1.1\r\n")
    assert b"\r\nupgrade: websocket" in head and b"\r\nvia: 1.1 asgi-scope" in head
    assert b"\r\nx-forwarded-for: 127.0.0.1" in head
    received = upstream_bytes(live, timing.exchange, "in")
    assert received.startswith(b"HTTP/1.1 101 ")
    assert b"echo: hello" in received  # the upstream's frames are not masked
    live.collect()
    client_frames = live.events(WebSocketFrame, exchange=timing.exchange)
    assert any(f.direction == "in" and f.payload == b"hello" for f in client_frames)
    assert any(f.direction == "out" and f.payload == b"echo: hello" for f in client_frames)


def test_a_websocket_the_upstream_refuses_gets_its_status(http_server, proxy_to):
    from websockets.exceptions import InvalidStatus
    from websockets.sync.client import connect

    live = proxy_to(http_server)
    with pytest.raises(InvalidStatus) as refused:
        connect(live.url.replace("http", "ws") + "/hello.txt", open_timeout=5)
    # http.server knows no WebSocket: it answers the GET, with 200 and the file.
    assert refused.value.response.status_code == 200
    assert refused.value.response.body == b"hello from http.server\n"
    assert timings(live).status == 200


def test_a_websocket_to_an_upstream_that_is_down_is_a_502(proxy_to):
    from websockets.exceptions import InvalidStatus
    from websockets.sync.client import connect

    live = proxy_to(f"http://127.0.0.1:{free_port()}")
    with pytest.raises(InvalidStatus) as refused:
        connect(live.url.replace("http", "ws") + "/ws", open_timeout=5)
    assert refused.value.response.status_code == 502
    assert b"connection refused" in refused.value.response.body


def test_a_recorded_proxy_session_reopens_the_same(procs: Processes, fastapi_upstream, tmp_path):
    """UpstreamBytes and ProxyTimings go through the capture file unchanged."""
    capture = tmp_path / "proxy.jsonl"
    port = free_port()
    proc = procs.spawn(
        [
            COMMAND,
            "proxy",
            fastapi_upstream,
            "--headless",
            "--port",
            str(port),
            "--record",
            str(capture),
        ]
    )
    wait_port(port, proc)
    httpx.post(f"http://127.0.0.1:{port}/user", json={"name": "Ada", "age": 36}, timeout=10)
    live_out, err = procs.stop(proc)
    assert proc.returncode == 0, err
    reopened = procs.spawn([COMMAND, "open", str(capture), "--headless"])
    out, err = reopened.communicate(timeout=20)
    assert reopened.returncode == 0, err
    assert out == live_out and "⇉ upstream sent" in out and "client" in out


@pytest.fixture
def recording_upstream() -> Iterator[tuple[str, list[bytes]]]:
    """A raw HTTP/1.1 upstream at ``/base`` that answers 200 to anything and
    keeps each request line it got, as it got it."""
    lines: list[bytes] = []
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    done = threading.Event()

    def serve() -> None:
        while not done.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            with conn:
                head = b""
                while b"\r\n\r\n" not in head:
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    head += chunk
                lines.append(head.split(b"\r\n", 1)[0])
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/base", lines
    done.set()
    thread.join(5)
    listener.close()


@pytest.mark.parametrize(
    ("sent", "forwarded"),
    [
        (b"GET _internal", b"GET /base/_internal"),
        (b"GET /../admin", b"GET /base/admin"),
        (b"GET /a/%2e%2E/%2e%2e/admin?x=1", b"GET /base/admin?x=1"),
        (b"GET /a/./b/../c/", b"GET /base/a/c/"),
        (b"GET /", b"GET /base/"),
        (b"OPTIONS *", b"OPTIONS *"),
    ],
)
def test_no_request_target_escapes_the_upstream_base_path(
    recording_upstream, proxy_to, sent: bytes, forwarded: bytes
):
    """RFC 9112 §3.2 and RFC 3986 §5.2.4: the path goes below the base path with
    its dot segments removed; the asterisk form of OPTIONS goes as it came."""
    url, lines = recording_upstream
    live = proxy_to(url)
    with socket.create_connection(("127.0.0.1", live.port), timeout=10) as sock:
        sock.sendall(sent + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 200 "), answer
    assert lines == [forwarded + b" HTTP/1.1"]
