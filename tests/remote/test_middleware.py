"""TraceMiddleware: what it records, and that it never makes the app wait.

The cost is measured two ways, each against a baseline taken in the same run:

* in this process, calling a wrapped echo app directly (no server in the way):
  the median time per call bare, traced with nothing listening, and traced into
  a real Unix socket listener that accepts and never reads (the slowest
  listener there is);
* end to end, a uvicorn subprocess serving the plain app untraced, traced with
  no listener, and traced into the never-reading listener, timed by sequential
  keep-alive requests from httpx.

Run with ``-s`` to see the numbers. The assertions are loose (a shared machine),
the point they pin is qualitative: a slow or absent listener costs the app no
more than recording does, and memory stays within the bounds.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from asgi_scope import TraceMiddleware
from asgi_scope.remote import auth
from asgi_scope.remote.sender import BoundedRecorder
from tests.export.test_otlp import attrs, receiving, server_span
from tests.remote.servers import COMMAND, Processes


async def echo(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Read the whole body, answer it back (so bodies cross the shim both ways)."""
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})


SCOPE = {
    "type": "http",
    "asgi": {"version": "3.0"},
    "http_version": "1.1",
    "method": "POST",
    "scheme": "http",
    "path": "/echo",
    "raw_path": b"/echo",
    "query_string": b"",
    "root_path": "",
    "headers": [(b"host", b"127.0.0.1"), (b"content-type", b"text/plain")],
    "client": ("127.0.0.1", 50000),
    "server": ("127.0.0.1", 8000),
}


def timed_calls(app: Any, n: int, body: bytes) -> list[int]:
    """Nanoseconds per call of ``app`` with a one-message request of ``body``."""

    async def run() -> list[int]:
        times = []
        for _ in range(n):
            pending = [{"type": "http.request", "body": body, "more_body": False}]

            async def receive(pending: list[dict[str, Any]] = pending) -> dict[str, Any]:
                return pending.pop() if pending else {"type": "http.disconnect"}

            async def send(message: dict[str, Any]) -> None:
                pass

            start = time.perf_counter_ns()
            await app(dict(SCOPE), receive, send)
            times.append(time.perf_counter_ns() - start)
        return times

    return asyncio.run(run())


def prove(conn: socket.socket) -> None:
    """The listener's half of the handshake (:mod:`asgi_scope.remote.auth`) on an
    accepted ``conn``, as ``attach`` does it, with the user's token."""
    conn.settimeout(5)
    nonce, line = auth.challenge()
    conn.sendall(line)
    _, proof = auth.check_answer(auth.load_token(create=True), nonce, conn.recv(256))
    conn.sendall(proof)


class Deaf:
    """A real Unix socket listener that accepts streams, proves itself (the
    handshake of :mod:`asgi_scope.remote.auth`, as ``attach`` does) and then
    never reads them: the slowest listener there is. ``accepted`` counts
    connections."""

    def __init__(self, path: str) -> None:
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.bind(path)
        self.sock.listen()
        self.sock.settimeout(0.1)
        self.conns: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    @property
    def accepted(self) -> int:
        return len(self.conns)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with contextlib.suppress(OSError, auth.AuthError):
                prove(conn)
            self.conns.append(conn)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        for conn in self.conns:
            conn.close()
        self.sock.close()


@pytest.fixture
def deaf(sock_dir: Path) -> Iterator[Deaf]:
    listener = Deaf(str(sock_dir / "deaf.sock"))
    yield listener
    listener.close()


def median_us(times: list[int]) -> float:
    return statistics.median(times) / 1000


def test_an_absent_or_deaf_listener_costs_no_more_than_recording(sock_dir: Path, deaf: Deaf):
    n, body = 3000, b"x" * 16 * 1024
    absent = TraceMiddleware(echo, sink=f"unix:{sock_dir}/nobody.sock", max_events=2000)
    slow = TraceMiddleware(echo, sink=f"unix:{sock_dir}/deaf.sock", max_events=2000)
    try:
        # In turns of 100 calls, so a load from elsewhere weighs on all three alike.
        bare: list[int] = []
        no_listener: list[int] = []
        deaf_listener: list[int] = []
        for _ in range(n // 100):
            bare += timed_calls(echo, 100, body)
            no_listener += timed_calls(absent, 100, body)
            deaf_listener += timed_calls(slow, 100, body)
        deadline = time.monotonic() + 5
        while slow.sender is not None and slow.sender.connects == 0:
            assert time.monotonic() < deadline, "the middleware never connected"
            time.sleep(0.01)
        time.sleep(0.2)  # a few more drains: what piled up is dropped, not kept
        results = {
            "bare": bare,
            "traced, nothing listening": no_listener,
            "traced, listener never reads": deaf_listener,
        }
        print()
        for name, times in results.items():
            p99 = sorted(times)[int(len(times) * 0.99)] / 1000
            print(f"{name:<30} median {median_us(times):7.1f} µs   p99 {p99:8.1f} µs")
        print(f"dropped: absent {absent.dropped}, deaf {slow.dropped}")
        # The listener's state changes nothing for the app: both are recording only.
        assert median_us(deaf_listener) < 2 * median_us(no_listener) + 50
        assert median_us(no_listener) < median_us(bare) + 300
        # Nothing waited without bound: the events were dropped and counted.
        events_per_call = 6  # ConnectionOpened, Origin, Scope, 3 messages, Ended, Closed
        assert absent.dropped >= n * events_per_call * 0.9
        assert slow.dropped > 0 and slow.sender is not None
        assert deaf.accepted == 1
        assert len(slow.sender._buffer) <= slow.max_buffer + 2000 * 2 * 16 * 1024 * 4 // 3 + 65536
        assert len(slow.recorder._pending) <= 2000 and len(absent.recorder._pending) <= 2000
    finally:
        absent.close(0.5)
        slow.close(0.5)


def test_the_bounded_recorder_counts_what_it_drops():
    from asgi_scope.trace.events import ServerNote

    recorder = BoundedRecorder(limit=3)
    events = [recorder.record(ServerNote, conn=0, level="info", text=str(i)) for i in range(5)]
    assert [e.seq for e in events] == [1, 2, 3, 4, 5]  # the shim still gets its seq
    assert [e.text for e in recorder.drain()] == ["0", "1", "2"]
    assert recorder.dropped == 2


def uvicorn_latencies(procs: Processes, servers: dict[str, tuple[str, str]], n: int):
    """Nanoseconds per request to each of ``servers`` (name: app and sink), all
    running at once and asked in turn, so whatever else loads the machine weighs
    on each of them alike."""
    started = {name: procs.server("uvicorn", app, sink) for name, (app, sink) in servers.items()}
    clients = {name: httpx.Client(base_url=url, timeout=10) for name, (_, url) in started.items()}
    try:
        for client in clients.values():
            for _ in range(50):  # warm up (and let the sender connect)
                client.get("/")
        times: dict[str, list[int]] = {name: [] for name in servers}
        for _ in range(n):
            for name, client in clients.items():
                start = time.perf_counter_ns()
                assert client.get("/").status_code == 200
                times[name].append(time.perf_counter_ns() - start)
        return times
    finally:
        for client in clients.values():
            client.close()
        for server, _ in started.values():
            procs.stop(server)


def test_under_uvicorn_a_deaf_listener_does_not_slow_the_app(
    procs: Processes, sock_dir: Path, deaf: Deaf
):
    results = uvicorn_latencies(
        procs,
        {
            "uvicorn, untraced": ("tests.apps.traced:untraced", ""),
            "uvicorn, traced, no listener": (
                "tests.apps.traced:plain", f"unix:{sock_dir}/nobody.sock"
            ),
            "uvicorn, traced, deaf listener": (
                "tests.apps.traced:plain", f"unix:{sock_dir}/deaf.sock"
            ),
        },
        400,
    )
    print()
    for name, times in results.items():
        print(f"{name:<32} median {median_us(times):7.1f} µs per request")
    base = median_us(results["uvicorn, untraced"])
    absent = median_us(results["uvicorn, traced, no listener"])
    slow = median_us(results["uvicorn, traced, deaf listener"])
    assert deaf.accepted >= 1
    assert absent < 2 * base + 500
    assert slow < 2 * absent + 500


def test_a_file_sink_is_a_capture_that_open_reads(procs: Processes, tmp_path: Path):
    path = tmp_path / "trace.jsonl"
    server, url = procs.server("uvicorn", "tests.apps.traced:app", f"file:{path}")
    with httpx.Client(base_url=url, timeout=10) as client:
        client.post("/user", json={"name": "Ada", "age": 36})
    time.sleep(0.5)
    procs.stop(server)
    header = json.loads(path.read_text().splitlines()[0])
    assert header["options"]["source"] == "middleware"
    assert header["options"]["raw_bytes"] is False
    proc = procs.spawn([COMMAND, "open", str(path), "--headless"])
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert "scope POST /user HTTP/1.1" in out
    assert """server → app  http.request  23 B b'{"name":"Ada","age":36}'""" in out
    assert "recorded by the middleware in pid" in out
    assert "lifespan.shutdown.complete" in out  # flushed when the server stopped


def test_an_http_sink_exports_otlp_from_every_worker(procs: Processes):
    """``TraceMiddleware(app, sink="http://collector:4318")`` under uvicorn: each
    exchange reaches a real OTLP/HTTP receiver as a SERVER span with its log
    records, exported from the worker itself, no attach in between."""
    with receiving() as got:
        server, url = procs.server("uvicorn", "tests.apps.traced:app", got.url)
        with httpx.Client(base_url=url, timeout=10) as client:
            assert client.post("/user", json={"name": "Ada", "age": 36}).status_code == 200
        got.wait_for(
            lambda: any(s.kind == Span.SPAN_KIND_SERVER for s in got.spans) and got.logs,
            "the exchange's span and log records",
        )
        procs.stop(server)
    span = server_span(got, "/user")
    assert attrs(span)["http.request.method"] == "POST"
    assert attrs(span)["http.response.status_code"] == 200
    assert got.services == {"tests.apps.fastapi_app:app"}
    assert any(r.span_id == span.span_id for r in got.logs)


def test_an_http_sink_without_the_otel_extra_is_refused_at_once():
    hide = (
        "import sys; sys.modules['opentelemetry'] = None\n"
        "from asgi_scope import TraceMiddleware\n"
        "from asgi_scope.remote.stream import AddressError\n"
        "try:\n"
        "    TraceMiddleware(lambda s, r, w: None, sink='http://127.0.0.1:4318')\n"
        "except AddressError as exc:\n"
        "    print(exc)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", hide], capture_output=True, text=True, timeout=30, check=True
    )
    assert result.stdout.strip() == (
        "http://127.0.0.1:4318: OTLP export needs pip install 'asgi-scope[otel]'"
    )


def test_an_http_sink_without_a_host_is_refused_at_once():
    from asgi_scope.remote.stream import AddressError

    with pytest.raises(AddressError, match="an OTLP sink is http://HOST:PORT"):
        TraceMiddleware(lambda scope, receive, send: None, sink="http://")


def test_the_middleware_imports_nothing_heavy():
    """``import asgi_scope`` is cheap, and the middleware brings no Textual, Rich,
    click, h11, wsproto or server of ours into the user's app process."""
    import subprocess
    import sys

    probe = (
        "import sys, asgi_scope\n"
        "before = 'asgi_scope.remote.middleware' in sys.modules\n"
        "from asgi_scope import TraceMiddleware\n"
        "heavy = ('textual', 'rich', 'click', 'h11', 'wsproto', 'asgi_scope.server')\n"
        "print(before, sorted(m for m in sys.modules if m.startswith(heavy)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=20, check=True
    )
    assert result.stdout.strip() == "False []"


def test_a_slow_listener_gets_whole_lines_and_a_warning_of_what_it_missed(sock_dir: Path):
    """A listener that stops reading for a while, then reads: every line it gets is
    a whole event (drops are whole batches, never cut lines), and it is told how
    many events it missed."""
    path = str(sock_dir / "slow.sock")
    server = socket.socket(socket.AF_UNIX)
    server.bind(path)
    server.listen()
    server.settimeout(10)
    start_reading = threading.Event()
    received = bytearray()

    def listen() -> None:
        conn, _ = server.accept()
        with conn:
            prove(conn)
            start_reading.wait(10)
            conn.settimeout(5)
            while chunk := conn.recv(65536):
                received.extend(chunk)

    reader = threading.Thread(target=listen, daemon=True)
    reader.start()
    app = TraceMiddleware(echo, sink=f"unix:{path}", max_buffer=64 * 1024)
    try:
        timed_calls(app, 1, b"")  # starts the sender, which connects
        deadline = time.monotonic() + 5
        while app.sender is not None and app.sender.connects == 0:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        timed_calls(app, 2000, b"y" * 16 * 1024)  # far more than the socket and buffer hold
        time.sleep(0.2)
        start_reading.set()
        deadline = time.monotonic() + 10
        while b"the listener did not keep up" not in received:  # told once it reads
            assert time.monotonic() < deadline, "the listener was never told"
            timed_calls(app, 1, b"later")
            time.sleep(0.1)
    finally:
        app.close(2.0)
        reader.join(10)
        server.close()
    lines = bytes(received).split(b"\n")
    assert lines[-1] == b""  # ends with a whole line
    records = [json.loads(line) for line in lines[:-1]]  # every line parses
    assert records[0]["format"] == "asgi-scope-capture"
    notes = [r["text"] for r in records[1:] if r["kind"] == "ServerNote"]
    assert any("events were dropped: the listener did not keep up" in n for n in notes), notes
    assert app.dropped > 0
    bodies = [r for r in records if r.get("kind") == "MessageReceived"]
    assert bodies  # some events did arrive, whole
