"""Abuse, each scenario bounded in time and count, on 127.0.0.1.

The server is the installed command, ``asgi-scope tests.apps.abuse:app --quiet
--record FILE``, in a subprocess of its own, so its memory can be read from
``/proc/PID/status`` while it is abused (resident set sampled every 10 ms, and
the kernel's high-water mark, VmHWM); the capture it wrote is read back
afterwards for what the trace recorded.

Sizes: CI runs reduced ones; ``ASGI_SCOPE_ABUSE=full`` runs the issue's (1,000
idle connections, a 1 GiB upload, a 1 GiB response, 100 slowloris clients)::

    ASGI_SCOPE_ABUSE=full .venv/bin/pytest tests/server/test_abuse.py -s

Each test prints one ``abuse:`` line with its figures (run with ``-s``), and
appends it as JSON to ``$ASGI_SCOPE_ABUSE_REPORT`` when that is set.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from asgi_scope.trace.capture import read_capture
from asgi_scope.trace.events import (
    AppRaised,
    BytesReceived,
    ConnectionClosed,
    ConnectionOpened,
    Event,
    ExchangeEnded,
    ProtocolError,
    ScopeCreated,
    ServerNote,
)
from tests.live import Raw, free_port, request

FULL = os.environ.get("ASGI_SCOPE_ABUSE") == "full"
MiB = 1 << 20
IDLE_CONNECTIONS = 1000 if FULL else 300
UPLOAD = 1024 * MiB if FULL else 64 * MiB
RESPONSE = 1024 * MiB if FULL else 64 * MiB
SLOWLORIS = 100 if FULL else 20
RESETS = 200 if FULL else 40
ROOT = Path(__file__).resolve().parents[2]
COMMAND = str(Path(sys.executable).with_name("asgi-scope"))


def _status(pid: int, key: str) -> int:
    """A ``/proc/PID/status`` figure in bytes (``VmRSS``, ``VmHWM``)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    raise KeyError(key)


class Server:
    """``asgi-scope tests.apps.abuse:app --quiet`` on a free port, its memory watched."""

    def __init__(self, *flags: str) -> None:
        self.port = free_port()
        self.dir = tempfile.TemporaryDirectory()
        self.capture = os.path.join(self.dir.name, "abuse.jsonl")
        self.proc = subprocess.Popen(
            [COMMAND, "tests.apps.abuse:app", "--quiet", "--port", str(self.port),
             "--lifespan", "off", "--record", self.capture, *flags],
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        self.peak = 0
        self.interrupted = False
        self._sampling = True
        deadline = time.monotonic() + 20
        while True:
            assert self.proc.poll() is None, self.proc.stderr.read().decode()  # type: ignore[union-attr]
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port)):
                break
            assert time.monotonic() < deadline, "the server never listened"
            time.sleep(0.05)
        with Raw(self.port) as raw:  # warm up: one exchange, then the baseline
            raw.send(request("GET", "/"))
            assert raw.read_response().status == 200
        time.sleep(0.2)
        self.baseline = _status(self.proc.pid, "VmRSS")
        self._sampler = threading.Thread(target=self._sample, daemon=True)
        self._sampler.start()

    def _sample(self) -> None:
        while self._sampling:
            with contextlib.suppress(OSError, KeyError):
                self.peak = max(self.peak, _status(self.proc.pid, "VmRSS"))
            time.sleep(0.01)

    def rss(self) -> int:
        return _status(self.proc.pid, "VmRSS")

    def get(self, target: str, timeout: float = 5.0) -> tuple[int, bytes]:
        with Raw(self.port, timeout) as raw:
            raw.send(request("GET", target))
            response = raw.read_response()
            return response.status, response.body

    def interrupt(self) -> None:
        """Ctrl-C (SIGINT), once: a second one would cut the shutdown short."""
        if not self.interrupted:
            self.interrupted = True
            self.hwm = _status(self.proc.pid, "VmHWM")
            self.proc.send_signal(2)

    def stop(self) -> list[Event]:
        """Stop (SIGINT, as Ctrl-C) and return the events of the capture."""
        self._sampling = False
        self.interrupt()
        try:
            code = self.proc.wait(20)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait(5)
        stderr = self.proc.stderr.read().decode()  # type: ignore[union-attr]
        assert code == 0, stderr
        assert "Traceback" not in stderr and "exception" not in stderr.lower(), stderr
        events = read_capture(self.capture).events
        self.dir.cleanup()
        return events

    def report(self, scenario: str, **figures: Any) -> None:
        line = {
            "scenario": scenario,
            "baseline_rss_mib": round(self.baseline / MiB, 1),
            "peak_rss_mib": round(max(self.peak, self.hwm) / MiB, 1),
            "growth_mib": round((max(self.peak, self.hwm) - self.baseline) / MiB, 1),
            **figures,
        }
        print(f"\nabuse: {json.dumps(line)}")
        path = os.environ.get("ASGI_SCOPE_ABUSE_REPORT")
        if path:
            with open(path, "a") as f:
                f.write(json.dumps(line) + "\n")


@pytest.fixture
def server() -> Iterator[Any]:
    started: list[Server] = []

    def start(*flags: str) -> Server:
        s = Server(*flags)
        started.append(s)
        return s

    yield start
    for s in started:
        if s.proc.poll() is None:
            s.proc.kill()
            s.proc.wait(5)


def _reset(sock: socket.socket) -> None:
    """Close with a TCP RST (SO_LINGER 0), as a crashed client."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def _closed_by_peer(socks: list[socket.socket], timeout: float) -> int:
    """How many of ``socks`` the server closes within ``timeout`` seconds."""
    open_ = {s.fileno(): s for s in socks}
    closed = 0
    deadline = time.monotonic() + timeout
    while open_ and time.monotonic() < deadline:
        ready, _, _ = select.select(list(open_), [], [], 0.1)
        for fd in ready:
            try:
                data = open_[fd].recv(65536)
            except ConnectionResetError:
                data = b""
            if not data:
                del open_[fd]
                closed += 1
    return closed


def _settled(s: Any, key: str, timeout: float = 30) -> int:
    """``/stats``'s ``key`` (bytes the app has sent) once two reads half a second
    apart agree: the app's send has stopped returning."""
    deadline = time.monotonic() + timeout
    last = json.loads(s.get("/stats", timeout=30)[1])[key]
    while True:
        time.sleep(0.5)
        now = json.loads(s.get("/stats", timeout=30)[1])[key]
        if now == last:
            return now
        assert time.monotonic() < deadline, f"{key}: still sending after {timeout} s"
        last = now


def test_idle_connections_hold_the_limit_and_time_out(server):
    limit = IDLE_CONNECTIONS // 3
    s = server("--limit-concurrency", str(limit), "--timeout-keep-alive", "1")
    started = time.monotonic()
    socks = []
    try:
        for _ in range(IDLE_CONNECTIONS):
            socks.append(socket.create_connection(("127.0.0.1", s.port), timeout=5))
        deadline = time.monotonic() + 20  # until the server has accepted them all
        while (status := s.get("/")[0]) != 503 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert status == 503, "past --limit-concurrency the server answers 503"
        closed = _closed_by_peer(socks, timeout=6)
        assert closed == IDLE_CONNECTIONS, f"{closed} of {IDLE_CONNECTIONS} closed"
        took = time.monotonic() - started
        assert s.get("/") == (200, b"ok")
    finally:
        for sock in socks:
            sock.close()
    events = s.stop()
    growth = max(s.peak, s.hwm) - s.baseline
    assert growth < (64 if FULL else 32) * MiB, f"{growth / MiB:.1f} MiB for idle connections"
    closes = [e for e in events if isinstance(e, ConnectionClosed)]
    timed_out = sum(e.reason == "keep-alive timeout" for e in closes)
    assert timed_out >= IDLE_CONNECTIONS
    opened = [e for e in events if isinstance(e, ConnectionOpened)]
    assert len(opened) == IDLE_CONNECTIONS + 4  # and the probe, the warm-up, the 503, the 200
    s.report("idle connections", connections=IDLE_CONNECTIONS, limit=limit,
             keep_alive_timeouts=timed_out, seconds=round(took, 1))  # fmt: skip


def test_slowloris_heads_time_out_while_normal_clients_are_served(server):
    s = server("--timeout-request-head", "1", "--timeout-keep-alive", "5")
    slow = [socket.create_connection(("127.0.0.1", s.port), timeout=5) for _ in range(SLOWLORIS)]
    for sock in slow:
        sock.setblocking(False)
    head = b"GET / HTTP/1.1\r\nHost: t\r\nX-Slow: " + b"a" * 10_000
    started = time.monotonic()
    alive = dict(enumerate(slow))
    answers: dict[int, bytes] = {}
    served, worst = 0, 0.0
    offset = 0
    while alive and time.monotonic() - started < 5:  # one byte per 100 ms on each
        for i, sock in list(alive.items()):
            try:
                chunk = sock.recv(4096)
                if not chunk:
                    del alive[i]
                    continue
                answers[i] = answers.get(i, b"") + chunk
            except BlockingIOError:
                pass
            except ConnectionResetError:
                del alive[i]
                continue
            with contextlib.suppress(BlockingIOError, BrokenPipeError, ConnectionResetError):
                sock.send(head[offset : offset + 1])
        offset += 1
        t = time.monotonic()
        assert s.get(f"/?normal={offset}", timeout=2) == (200, b"ok")
        served += 1
        worst = max(worst, time.monotonic() - t)
        time.sleep(max(0.0, 0.1 - (time.monotonic() - t)))
    took = time.monotonic() - started
    for sock in slow:
        sock.close()
    assert not alive, f"{len(alive)} slow clients still connected after {took:.1f} s"
    assert took < 3, f"the head timeout (1 s) took {took:.1f} s"
    assert all(a.startswith(b"HTTP/1.1 408 ") for a in answers.values()), answers
    assert len(answers) == SLOWLORIS
    assert worst < 0.5, f"a normal request took {worst:.2f} s beside the slow ones"
    events = s.stop()
    timeouts = [e for e in events if isinstance(e, ProtocolError) and e.status == 408]
    assert len(timeouts) == SLOWLORIS
    assert all("request head not complete after 1 s" in e.detail for e in timeouts)
    s.report("slowloris", slow_clients=SLOWLORIS, normal_served=served,
             worst_normal_latency_ms=round(worst * 1000), seconds=round(took, 1))  # fmt: skip


def _push(sock: socket.socket, size: int, stall: float = 1.0, limit: float = 60.0) -> int:
    """Send up to ``size`` bytes until done, or until the socket accepts nothing for
    ``stall`` seconds; return how many bytes the kernel took."""
    sock.setblocking(False)
    block = b"u" * (256 * 1024)
    sent = 0
    last = time.monotonic()
    deadline = last + limit
    while sent < size and time.monotonic() < deadline:
        _, writable, _ = select.select([], [sock], [], 0.05)
        if not writable:
            if time.monotonic() - last > stall:
                break
            continue
        try:
            n = sock.send(block[: min(len(block), size - sent)])
        except BlockingIOError:
            continue
        sent += n
        last = time.monotonic()
    return sent


def test_upload_to_an_app_that_never_reads_stops_the_reading(server):
    s = server("--timeout-graceful-shutdown", "1")
    sock = socket.create_connection(("127.0.0.1", s.port), timeout=5)
    head = f"POST /hold?s=60 HTTP/1.1\r\nHost: t\r\nContent-Length: {UPLOAD}\r\n\r\n"
    sock.sendall(head.encode())
    took = time.monotonic()
    accepted = _push(sock, UPLOAD)
    took = time.monotonic() - took
    rss_while_held = s.rss()
    assert accepted < 32 * MiB, f"{accepted / MiB:.1f} MiB taken of {UPLOAD / MiB:.0f} MiB"
    assert s.get("/") == (200, b"ok"), "the server stopped serving others"
    _reset(sock)
    events = s.stop()
    growth = max(s.peak, s.hwm) - s.baseline
    assert growth < 16 * MiB, f"{growth / MiB:.1f} MiB for an upload nobody reads"
    upload = next(e.conn for e in events
                  if isinstance(e, ScopeCreated) and e.scope["path"] == "/hold")  # fmt: skip
    received = sum(e.size for e in events if isinstance(e, BytesReceived) and e.conn == upload)
    assert received < 1 * MiB, f"the server read {received} bytes nobody asked for"
    assert received < accepted
    s.report("upload, app never reads", upload_mib=UPLOAD // MiB,
             client_got_rid_of_mib=round(accepted / MiB, 1),
             server_read_mib=round(received / MiB, 2),
             rss_while_held_mib=round(rss_while_held / MiB, 1),
             stall_seconds=round(took, 1))  # fmt: skip


def test_upload_the_app_answers_without_reading_is_drained_flat(server):
    s = server()
    with Raw(s.port, timeout=30) as raw:
        raw.send(f"POST /discard HTTP/1.1\r\nHost: t\r\nContent-Length: {UPLOAD}\r\n\r\n".encode())
        started = time.monotonic()
        sent = _push(raw.sock, UPLOAD, stall=5.0, limit=120)
        took = time.monotonic() - started
        raw.sock.setblocking(True)
        assert sent == UPLOAD
        assert raw.read_response().body == b"not read"
        raw.send(request("GET", "/"))
        assert raw.read_response().body == b"ok", "the connection serves the next request"
    s.stop()
    growth = max(s.peak, s.hwm) - s.baseline
    assert growth < 32 * MiB, f"{growth / MiB:.1f} MiB to drain an unread upload"
    s.report("upload, app answers without reading", upload_mib=UPLOAD // MiB,
             seconds=round(took, 1), mib_per_s=round(UPLOAD / MiB / took))  # fmt: skip


def test_a_client_that_never_reads_makes_send_wait(server):
    s = server("--timeout-graceful-shutdown", "1")
    with Raw(s.port, timeout=30) as raw:
        raw.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        raw.send(request("GET", f"/big?size={RESPONSE}"))
        # reading nothing: what the app has sent stops growing once send() waits
        # (a server whose send() never waits settles too, at the whole response)
        first = _settled(s, "big")
        rss_stalled = s.rss()
        assert first < 16 * MiB, f"{first / MiB:.1f} MiB sent before send() waited"
        started = time.monotonic()
        status, _, _, _ = raw.read_head()
        got = len(raw.buf)
        raw.buf.clear()
        while got < RESPONSE:
            data = raw.sock.recv(1 << 20)
            assert data, f"the response ended after {got} bytes"
            got += len(data)
        took = time.monotonic() - started
    assert status == 200 and got == RESPONSE
    s.stop()
    growth = max(s.peak, s.hwm) - s.baseline
    assert growth < 32 * MiB, f"{growth / MiB:.1f} MiB to stream {RESPONSE / MiB:.0f} MiB"
    s.report("client never reads a large response", response_mib=RESPONSE // MiB,
             sent_before_send_waited_mib=round(first / MiB, 2),
             rss_stalled_mib=round(rss_stalled / MiB, 1),
             read_seconds=round(took, 1), mib_per_s=round(RESPONSE / MiB / took))  # fmt: skip


def test_ten_thousand_tiny_chunks_each_way(server):
    s = server()
    n = 10_000
    body = b"".join(b"1\r\nx\r\n" for _ in range(n)) + b"0\r\n\r\n"
    started = time.monotonic()
    with Raw(s.port, timeout=30) as raw:
        raw.send(b"POST /count HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n" + body)
        assert raw.read_response().body == str(n).encode()
        raw.send(request("GET", f"/tiny?n={n}"))
        response = raw.read_response()
    took = time.monotonic() - started
    assert response.body == b"t" * n and len(response.chunks) == n
    events = s.stop()
    growth = max(s.peak, s.hwm) - s.baseline
    assert growth < 64 * MiB, f"{growth / MiB:.1f} MiB for 10,000 chunks"
    ended = [e for e in events if isinstance(e, ExchangeEnded)]
    assert {e.outcome for e in ended} == {"complete"}
    # 40,000 events in a burst: a capture writer that falls 20,000 behind (a
    # loaded machine) drops some, and says so in the capture, where they were.
    gap = [e for e in events if isinstance(e, ServerNote) and "could not keep up" in e.text]
    assert len(ended) == 3 or gap, f"{len(ended)} exchanges ended and no gap note"
    s.report("10,000 tiny chunks each way", chunks=n, seconds=round(took, 1))


def test_abrupt_resets_mid_request_and_mid_response(server):
    s = server()
    for i in range(RESETS):
        sock = socket.create_connection(("127.0.0.1", s.port), timeout=5)
        if i % 2:  # mid-request: half of the body, then RST
            head = b"POST /count HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n\r\n"
            sock.sendall(head + b"b" * 500)
        else:  # mid-response: a streaming response read a little, then RST
            sock.sendall(request("GET", "/stream"))
            assert sock.recv(100)
        time.sleep(0.005)
        _reset(sock)
    time.sleep(0.3)
    assert s.get("/") == (200, b"ok")
    events = s.stop()
    growth = max(s.peak, s.hwm) - s.baseline
    assert growth < 16 * MiB, f"{growth / MiB:.1f} MiB after {RESETS} resets"
    ended = [e for e in events if isinstance(e, ExchangeEnded)]
    assert len(ended) == RESETS + 2  # the warm-up and the last request too
    assert sum(e.outcome == "disconnect" for e in ended) == RESETS
    assert not [e for e in events if isinstance(e, AppRaised)]
    closed = [e for e in events if isinstance(e, ConnectionClosed) and e.by == "client"]
    assert len(closed) >= RESETS
    s.report("abrupt resets", resets=RESETS)


def test_an_app_that_never_answers_is_shown_and_cancelled_at_shutdown(server):
    s = server("--timeout-keep-alive", "0.5", "--timeout-graceful-shutdown", "1")
    with Raw(s.port, timeout=10) as raw:
        raw.send(request("GET", "/never"))
        assert raw.quiet_for(1.5), "the keep-alive timeout closed a connection whose app is busy"
        assert s.get("/") == (200, b"ok")
        started = time.monotonic()
        s.interrupt()
        response = raw.read_response()
        waited = time.monotonic() - started
    assert response.status == 500
    assert 0.8 < waited < 3, f"graceful shutdown took {waited:.1f} s (timeout 1 s)"
    events = s.stop()
    scope = next(e for e in events if isinstance(e, ScopeCreated) and e.scope["path"] == "/never")
    raised = [e for e in events if isinstance(e, AppRaised) and e.exchange == scope.exchange]
    assert raised and raised[0].exc_type == "CancelledError"
    ended = [e for e in events if isinstance(e, ExchangeEnded) and e.exchange == scope.exchange]
    assert ended[0].outcome == "error" and ended[0].status == 500
    assert any(isinstance(e, ServerNote) and e.text == "shutting down" for e in events)
    s.report("app never answers", held_seconds=1.5, cancelled_after_seconds=round(waited, 1))


def test_a_pipelined_head_waiting_behind_a_slow_response_is_not_timed_out(serve):
    """The head timer counts the client's time only: a complete pipelined request
    held back while the app takes longer than the head timeout is still served."""
    import asyncio

    async def slow(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await receive()
        await asyncio.sleep(0.6 if scope["path"] == "/slow" else 0)
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-length", b"2")]})  # fmt: skip
        await send({"type": "http.response.body", "body": b"ok"})

    live = serve(slow, timeout_request_head=0.25)
    with live.connect() as raw:
        raw.send(request("GET", "/slow") + request("GET", "/next")[:10])
        time.sleep(0.4)
        raw.send(request("GET", "/next")[10:])
        assert [raw.read_response().status for _ in range(2)] == [200, 200]
    with live.connect() as raw:  # and a head that does take too long is answered 408
        raw.send(b"GET / HTTP/1.1\r\n")
        assert raw.read_response().status == 408
        assert raw.closed_within(1)


def test_websocket_ten_thousand_tiny_frames_in_then_a_flood_nobody_reads(server):
    from tests.server.ws_client import TEXT, frame, handshake

    s = server("--timeout-graceful-shutdown", "1")
    n = 10_000
    with Raw(s.port, timeout=10) as raw:
        raw.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        raw.send(handshake(f"/ws?size={RESPONSE}"))
        assert raw.read_head()[0] == 101
        started = time.monotonic()
        raw.send(b"".join(frame(TEXT, b"t") for _ in range(n)) + frame(TEXT, b"flood"))
        deadline = time.monotonic() + 60  # a loaded CI machine: 10,000 app receives, traced
        while json.loads(s.get("/stats", timeout=30)[1])["ws_received"] < n:
            assert time.monotonic() < deadline, "the tiny frames were not all received"
            time.sleep(0.05)
        took = time.monotonic() - started
        first = _settled(s, "ws")  # the app floods; the client reads nothing
        assert first < 16 * MiB, f"{first / MiB:.1f} MiB sent before websocket.send waited"
        _reset(raw.sock)
    s.stop()
    growth = max(s.peak, s.hwm) - s.baseline
    assert growth < 64 * MiB, f"{growth / MiB:.1f} MiB"
    s.report("websocket: 10,000 tiny frames in, a flood nobody reads", frames=n,
             frames_seconds=round(took, 1),
             sent_before_send_waited_mib=round(first / MiB, 2))  # fmt: skip
