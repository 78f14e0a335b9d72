"""``asgi-scope attach``: real uvicorn and hypercorn processes running the FastAPI
test app wrapped in TraceMiddleware, streaming over a real Unix socket or TCP
on 127.0.0.1 into a real attach (the installed command, headless; or the TUI
driven by Textual's pilot), and every kind of bad input refused with one line
while the listener keeps running."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import socket
import time

import httpx
import pytest

from asgi_scope.remote import auth
from asgi_scope.remote.attach import AttachRecorder, Listener
from asgi_scope.remote.stream import parse_address
from asgi_scope.session import LoopThread
from asgi_scope.trace.capture import Header, event_line
from asgi_scope.trace.events import ConnectionOpened, ScopeCreated, ServerNote
from asgi_scope.trace.store import Store
from asgi_scope.ui.app import ScopeApp
from tests.live import free_port, wait_for_peers, wait_until
from tests.remote.servers import COMMAND, Processes
from tests.ui.conftest import screen_text

PIDS = re.compile(r"pid (\d+) attached")


def send_requests(url: str, paths: list[str]) -> None:
    """Each request on a new connection, so the kernel spreads them over workers."""
    for path in paths:
        response = httpx.get(url + path, timeout=10)
        assert response.status_code in (200, 500), response.text


def test_uvicorn_workers_stream_into_one_headless_attach(procs: Processes, sock_path: str):
    attach = procs.attach(f"unix:{sock_path}")
    server, url = procs.server("uvicorn", "tests.apps.traced:app", f"unix:{sock_path}", 2)
    send_requests(url, [f"/items/{i}?q=w" for i in range(12)])
    from websockets.sync.client import connect

    with connect(url.replace("http", "ws") + "/ws/echo", open_timeout=5) as ws:
        ws.send("hi")
        assert ws.recv(timeout=5) == "echo: hi"
    time.sleep(1.0)  # the senders drain every 50 ms, the printer every 33 ms
    procs.stop(server)
    time.sleep(0.5)
    out, err = procs.stop(attach)
    assert attach.returncode == 0, err
    pids = set(PIDS.findall(out))
    assert len(pids) == 2, out  # both workers streamed (their lifespan, at least)
    for i in range(12):
        assert f"scope GET /items/{i}?q=w HTTP/1.1" in out
    assert out.count("complete 200") == 12
    recorded = set(re.findall(r"recorded by the middleware in pid (\d+), no raw bytes", out))
    assert recorded and recorded <= pids
    assert "lifespan.startup.complete" in out
    assert "scope websocket /ws/echo" in out or "scope WS /ws/echo" in out, out
    assert "websocket.accept" in out and "websocket.receive" in out
    assert "complete 101" in out
    assert len(re.findall(r"pid \d+ detached", out)) == 2  # the workers shut down cleanly


def test_hypercorn_streams_over_tcp_and_reattaching_works(procs: Processes):
    port = free_port()
    address = f"127.0.0.1:{port}"
    attach = procs.attach(address)
    server, url = procs.server("hypercorn", "tests.apps.traced:app", address)
    send_requests(url, ["/", "/boom"])
    time.sleep(1.0)
    out, _ = procs.stop(attach)
    assert "scope GET / HTTP/1.1" in out and "app raised RuntimeError: boom" in out
    # Detached: the app keeps serving (its events are dropped and counted) ...
    send_requests(url, ["/items/1"])
    # ... and attaching again picks the stream up (the sender retries once a second).
    attach = procs.attach(address)
    deadline = time.monotonic() + 10
    send_requests(url, ["/items/2"])
    time.sleep(2.5)
    send_requests(url, ["/items/3"])
    time.sleep(1.0)
    procs.stop(server)
    out, err = procs.stop(attach)
    assert time.monotonic() < deadline + 10
    assert "scope GET /items/3 HTTP/1.1" in out, out + err
    assert "scope GET /items/1 " not in out  # it happened while nobody listened
    assert "events recorded while no listener was attached were not kept" in out


def test_hypercorn_on_trio_streams_too(procs: Processes, sock_path: str):
    """The middleware uses no asyncio: under a trio worker it records the same."""
    pytest.importorskip("trio")
    attach = procs.attach(f"unix:{sock_path}")
    server, url = procs.server(
        "hypercorn", "tests.apps.traced:app", f"unix:{sock_path}", 1, "--worker-class", "trio"
    )
    send_requests(url, ["/items/8?q=trio", "/boom"])
    time.sleep(1.0)
    procs.stop(server)
    time.sleep(0.3)
    out, _ = procs.stop(attach)
    assert "scope GET /items/8?q=trio HTTP/1.1" in out
    assert "app raised RuntimeError: boom" in out
    assert "lifespan.shutdown.complete" in out


def test_the_tui_shows_each_workers_pid_and_says_there_are_no_raw_bytes(
    procs: Processes, sock_path: str
):
    recorder = AttachRecorder()
    listener = LoopThread(Listener(parse_address(f"unix:{sock_path}"), recorder))
    listener.start()
    try:
        _, url = procs.server("hypercorn", "tests.apps.traced:app", f"unix:{sock_path}", 2)
        assert wait_for_peers(listener.source, 2, 20), "the two workers did not attach"
        ui = ScopeApp(recorder, app_name="attached", url=f"unix:{sock_path}")

        async def main() -> None:
            async with ui.run_test(size=(130, 40)) as pilot:
                await asyncio.to_thread(send_requests, url, [f"/items/{i}" for i in range(8)])

                def seen() -> bool:
                    done = [x for x in ui.store.exchanges.values() if x.kind == "http"]
                    return len(done) == 8 and all(x.t_end for x in done)

                deadline = time.monotonic() + 10
                while not seen() and time.monotonic() < deadline:
                    await pilot.pause(0.05)
                assert seen()
                pids = {x.pid for x in ui.store.exchanges.values() if x.kind == "http"}
                assert pids and 0 not in pids
                # Each worker's lifespan is a row of its own, with its pid too.
                workers = {x.pid for x in ui.store.exchanges.values() if x.kind == "lifespan"}
                assert len(workers) == 2 and 0 not in workers and pids <= workers
                text = screen_text(ui)
                assert any(f"{pid}·" in text for pid in pids), text
                row = next(line for line in text.splitlines() if "/items/7" in line)
                assert "0 B" not in row and row.count("–") == 2, row  # sizes unknown
                await pilot.press("x")
                await pilot.pause(0.1)
                assert "Raw bytes are not available" in screen_text(ui)
                await pilot.press("m")
                await pilot.pause(0.1)
                assert "http.response.start" in screen_text(ui)

        asyncio.run(main())
    finally:
        listener.stop()


# -- bad input ------------------------------------------------------------------------


def test_an_address_in_use_is_one_line_and_exit_1(procs: Processes):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = procs.spawn([COMMAND, "attach", f"127.0.0.1:{port}", "--headless"])
        _, err = proc.communicate(timeout=20)
    assert proc.returncode == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1 and f"cannot listen on tcp:127.0.0.1:{port}" in lines[0], err


def test_a_live_unix_socket_is_not_stolen(procs: Processes, sock_path: str):
    procs.attach(f"unix:{sock_path}")
    proc = procs.spawn([COMMAND, "attach", f"unix:{sock_path}", "--headless"])
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 1
    assert err.strip() == (
        f"asgi-scope: cannot listen on unix:{sock_path}: another listener is attached there"
    )


@pytest.mark.parametrize(
    ("address", "words"),
    [
        ("10.1.2.3:9000", "only loopback hosts"),
        ("not an address", "not a socket address"),
        ("unix:", "no socket path"),
    ],
)
def test_an_unusable_address_is_one_line_and_exit_1(procs: Processes, address, words):
    proc = procs.spawn([COMMAND, "attach", address, "--headless"])
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 1
    assert len(err.strip().splitlines()) == 1 and words in err


def header_line(**changes: object) -> bytes:
    header = Header("peer:app", time.time_ns(), {"source": "middleware", "pid": 77})
    data = header.to_json() | changes
    return (json.dumps(data) + "\n").encode()


def drained(recorder: AttachRecorder, until) -> Store:
    """A store of what ``recorder`` got, once ``until(store)`` holds."""
    store = Store()

    def done() -> bool:
        store.add(recorder.drain())
        return bool(until(store))

    wait_until(done, what="the stream's events")
    return store


def authenticated(path: str, token: bytes | None = None) -> tuple[socket.socket, bytes]:
    """A new stream connection to the listener at ``path``, with the handshake done
    with ``token`` (the user's by default), and b""; or, if the listener refused
    it, the closed connection and what the listener said."""
    sock = socket.socket(socket.AF_UNIX)
    sock.settimeout(5)
    sock.connect(path)
    token = auth.load_token(create=False) if token is None else token
    challenged, ours, reply = auth.answer(token, sock.recv(auth.MAX_AUTH_LINE))
    sock.sendall(reply)
    proof = b""
    while not proof.endswith(b"\n"):
        chunk = sock.recv(auth.MAX_AUTH_LINE)
        if not chunk or chunk.startswith(b"asgi-scope: refused"):
            refusal = proof + chunk + sock.recv(4096)
            sock.close()
            return sock, refusal
        proof += chunk
    auth.check_proof(token, challenged, ours, proof)
    return sock, b""


def answer_to(sock: socket.socket) -> bytes:
    """Everything the listener says on ``sock`` until it closes it."""
    answer = b""
    while chunk := sock.recv(4096):
        answer += chunk
    return answer


def talk(path: str, data: bytes, token: bytes | None = None) -> bytes:
    """Send ``data`` on a new stream connection, once authenticated with ``token``
    (the user's by default); return what the listener answered after its proof."""
    sock, refusal = authenticated(path, token)
    with sock:
        if refusal:
            return refusal
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        return answer_to(sock)


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (header_line(version=99), b"version 99 is newer"),
        (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", b"not an asgi-scope capture"),
        (header_line() + b"\x1b]0;pwned\x07 garbage\n", b"line 2 is not valid JSON"),
        (header_line() + b'{"kind": "Nope"}\n', b"unknown event kind"),
        (b"\xff" * 100 + b"\n", b"not an asgi-scope capture"),
        (header_line() + b'{"seq": ' + b"1" * 5000 + b"}\n", b"line 2 is not valid JSON"),
        (header_line() + b"[" * 5000 + b"]" * 5000 + b"\n", b"line 2 is not valid JSON"),
        (b"[" * 5000 + b"\n", b"not an asgi-scope capture"),
    ],
    ids=[
        "newer version",
        "http",
        "garbage",
        "unknown kind",
        "binary",
        "int too long",
        "too deep",
        "too deep header",
    ],
)
def test_a_bad_stream_is_refused_and_the_listener_keeps_running(sock_path: str, data, words):
    recorder = AttachRecorder()
    listener = LoopThread(Listener(parse_address(f"unix:{sock_path}"), recorder))
    listener.start()
    try:
        answer = talk(sock_path, data)
        assert answer.startswith(b"asgi-scope: refused: ") and words in answer, answer
        # A good stream right after is taken.
        # (with an exchange: a closed connection without one leaves the store)
        events = [
            ConnectionOpened(1, 5, 1, ("127.0.0.1", 5), None),
            ScopeCreated(2, 6, 1, 1, {"type": "http", "path": "/"}, None),
        ]
        good = header_line() + b"".join(event_line(e).encode() for e in events)
        assert talk(sock_path, good) == b""
        store = drained(recorder, lambda store: store.connections)
        notes = [n.text for n in store.notes]
        refused = [t for t in notes if t.startswith("stream refused")]
        assert len(refused) == 1 and words.decode() in refused[0]
        assert listener.source.refused == 1
        assert list(store.connections) == [1]
    finally:
        listener.stop()


def test_an_unauthenticated_peer_cannot_make_the_listener_hold_more_than_one_short_line(
    sock_path: str,
):
    listener = LoopThread(Listener(parse_address(f"unix:{sock_path}"), AttachRecorder()))
    listener.start()
    try:
        with socket.socket(socket.AF_UNIX) as sock:
            sock.settimeout(10)
            sock.connect(sock_path)
            assert sock.recv(auth.MAX_AUTH_LINE).startswith(auth.GREETING)
            sent = 0
            with contextlib.suppress(OSError):  # refused mid-send: the peer is reset
                while sent < 64 * 1024 * 1024:
                    sent += sock.send(b"x" * 65536)
            assert sent < 16 * 1024 * 1024, "the listener kept reading a line no one proved"
        wait_until(lambda: listener.source.refused == 1, what="the refusal")
        assert listener.source.held == 0
    finally:
        listener.stop()


def test_all_streams_together_hold_at_most_their_budget_and_the_others_go_on(sock_path: str):
    """Two authenticated streams each send an unfinished 600 kB line into a
    budget of 1 MB: the one whose read passes it is dropped, the other finishes
    its line and is taken; a third stream is taken after."""
    recorder = AttachRecorder()
    listener = LoopThread(
        Listener(parse_address(f"unix:{sock_path}"), recorder, max_held=1_000_000)
    )
    listener.start()
    note = ServerNote(1, 5, 0, "info", "from the first stream")
    note_line = event_line(note).encode()
    pad = b" " * 600_000  # JSON allows whitespace before a value: one long valid line
    try:
        first, refusal = authenticated(sock_path)
        second, refusal2 = authenticated(sock_path)
        assert refusal == refusal2 == b""
        with first, second:
            first.sendall(header_line() + pad)
            wait_until(lambda: listener.source.held >= 600_000, what="the first line held")
            with contextlib.suppress(OSError):  # refused mid-send
                second.sendall(header_line() + pad)
            wait_until(lambda: listener.source.refused == 1, what="the second stream dropped")
            first.sendall(note_line)
            first.shutdown(socket.SHUT_WR)
            assert answer_to(first) == b""
        good = header_line() + event_line(ServerNote(1, 6, 0, "info", "third")).encode()
        assert talk(sock_path, good) == b""
        store = drained(recorder, lambda store: "third" in [n.text for n in store.notes])
        texts = [n.text for n in store.notes]
        assert "from the first stream" in texts
        assert sum("bytes held for all streams" in t for t in texts) == 1, texts
        assert listener.source.refused == 1 and listener.source.held == 0
    finally:
        listener.stop()


def test_ids_of_two_streams_never_collide(sock_path: str):
    """Both streams number their connection and exchange 1; attach re-numbers."""
    recorder = AttachRecorder()
    listener = LoopThread(Listener(parse_address(f"unix:{sock_path}"), recorder))
    listener.start()
    try:
        for pid in (101, 202):
            lines = [
                ConnectionOpened(1, 10, 1, ("127.0.0.1", pid), None),
                ScopeCreated(2, 11, 1, 1, {"type": "http", "path": f"/{pid}"}, None),
                ServerNote(3, 12, 0, "info", "hello"),
            ]
            data = header_line(options={"pid": pid}) + b"".join(
                event_line(e).encode() for e in lines
            )
            assert talk(sock_path, data) == b""
        store = drained(recorder, lambda store: len(store.exchanges) == 2)
        paths = sorted((x.conn, x.id, x.path) for x in store.exchanges.values())
        assert paths == [(1, 1, "/101"), (2, 2, "/202")]
        seqs = [e.seq for e in store.events]
        assert seqs == sorted(set(seqs))
    finally:
        listener.stop()


def test_attach_records_what_it_shows(procs: Processes, sock_path: str, tmp_path):
    capture = tmp_path / "attached.jsonl"
    attach = procs.attach(f"unix:{sock_path}", "--record", str(capture))
    server, url = procs.server("uvicorn", "tests.apps.traced:app", f"unix:{sock_path}")
    send_requests(url, ["/items/1", "/"])
    time.sleep(1.0)
    procs.stop(server)
    time.sleep(0.3)
    live_out, _ = procs.stop(attach)
    proc = procs.spawn([COMMAND, "open", str(capture), "--headless"])
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert out == live_out
    assert "scope GET /items/1 HTTP/1.1" in out and "recorded by the middleware in pid" in out


def test_the_tui_keeps_running_when_a_stream_is_refused(sock_path: str):
    recorder = AttachRecorder()
    listener = LoopThread(Listener(parse_address(f"unix:{sock_path}"), recorder))
    listener.start()
    ui = ScopeApp(recorder, app_name="attached", url=f"unix:{sock_path}")
    try:

        async def main() -> None:
            async with ui.run_test(size=(120, 30)) as pilot:
                assert "Waiting for a stream" in screen_text(ui)
                answer = await asyncio.to_thread(talk, sock_path, header_line(version=99))
                assert b"newer" in answer
                events = [
                    ConnectionOpened(1, 5, 1, ("127.0.0.1", 5), None),
                    ScopeCreated(2, 6, 1, 1, {"type": "http", "path": "/"}, None),
                ]
                good = header_line() + b"".join(event_line(e).encode() for e in events)
                assert await asyncio.to_thread(talk, sock_path, good) == b""
                for _ in range(50):
                    await pilot.pause(0.03)
                    if ui.store.connections:
                        break
                assert list(ui.store.connections) == [1]
                assert any("stream refused" in n.text for n in ui.store.notes)
                assert ui.is_running

        asyncio.run(main())
    finally:
        listener.stop()


def test_a_view_that_does_not_drain_loses_stream_events_with_a_note():
    recorder = AttachRecorder()
    recorder.limit = 3
    ids = recorder.stream()
    for seq in range(1, 7):
        recorder.inject(ServerNote(seq, seq, 0, "info", f"n{seq}"), ids)
    assert [e.text for e in recorder.drain()] == ["n1", "n2", "n3"]  # 4..6 dropped
    recorder.inject(ServerNote(7, 7, 0, "info", "n7"), ids)
    note, kept = recorder.drain()
    assert note.text == "dropped 3 events: the view could not keep up"
    assert note.seq < kept.seq and kept.text == "n7"
