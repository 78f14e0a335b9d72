"""The conformance suite: the same black-box checks against asgi-scope and uvicorn.

Every check runs twice, ``[asgi-scope]`` and ``[uvicorn]``: uvicorn
(``--http h11 --ws wsproto``, a subprocess) is the reference peer, serving the
same app (:mod:`tests.apps.conformance`) with the same limits. A check that
expects something different of the two says so with :func:`expect`, and each
such difference is listed, with its reason, in the README ("Deliberate
differences from uvicorn"). The terminal summary prints the results side by side.

Only raw sockets and the ``websockets`` client talk to the servers; nothing
here reads asgi-scope's trace (that is ``test_trace_complete.py``).
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from tests.live import TIMEOUT, request
from tests.server import ws_client as wsc
from tests.server.peers import (
    DIFFERENCES,
    KEEP_ALIVE,
    PEERS,
    WS_MAX_SIZE,
    Peer,
    run_to_exit,
    start,
)


@pytest.fixture(scope="module", params=PEERS)
def peer(request: pytest.FixtureRequest) -> Iterator[Peer]:
    server = start(request.param)
    yield server
    server.stop()


def expect(peer: Peer, ours: Any, uvicorn: Any) -> Any:
    """The expected value for ``peer``: a deliberate difference from uvicorn."""
    if ours != uvicorn:
        test = os.environ.get("PYTEST_CURRENT_TEST", "").split("::")[-1].split("[")[0]
        DIFFERENCES.add(test)
    return ours if peer.name == "asgi-scope" else uvicorn


def exchange(peer: Peer, data: bytes) -> bytes:
    """Send ``data`` on a new connection; everything until the server closes."""
    with peer.connect() as raw:
        raw.send(data)
        return raw.read_eof()


def status_of(response: bytes) -> int:
    return int(response.split(b" ", 2)[1]) if response.startswith(b"HTTP/") else 0


def seen(peer: Peer, path: str) -> dict[str, Any]:
    """What the app's WebSocket route ``path`` observed (its disconnect), polled."""
    deadline = time.monotonic() + TIMEOUT
    while True:
        data = httpx.get(f"{peer.url}/seen", timeout=TIMEOUT).json()
        if path in data:
            return data[path]
        assert time.monotonic() < deadline, f"{path} never saw a disconnect: {data}"
        time.sleep(0.02)


# HTTP/1.1 message syntax and framing (RFC 9112)


def test_absolute_form_target_is_reduced_to_its_path(peer: Peer):
    """RFC 9112 §3.2.2: a server must accept the absolute form; the scope's path
    is the path (ASGI HTTP spec: ``path`` and ``raw_path`` are the request path)."""
    with peer.connect() as raw:
        raw.send(b"GET http://example.com/a%20b?q=1 HTTP/1.1\r\nHost: example.com\r\n\r\n")
        response = raw.read_response()
    assert response.status == 200
    assert response.header(b"x-path") == expect(peer, b"/a b", b"http://example.com/a b")
    assert response.header(b"x-raw-path") == expect(peer, b"/a%20b", b"http://example.com/a%20b")
    assert response.header(b"x-query") == b"q=1"


def test_transfer_encoding_with_content_length_is_rejected(peer: Peer):
    """RFC 9112 §6.3 ¶3: a request with both may be smuggling; reject it (we) or
    let Transfer-Encoding win (h11 alone, so uvicorn)."""
    data = (
        b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n"
        b"Content-Length: 3\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
    )
    assert status_of(exchange(peer, data)) == expect(peer, 400, 200)


@pytest.mark.parametrize(
    "headers",
    [
        b"Content-Length: 3\r\nContent-Length: 4\r\n",  # conflicting (RFC 9112 §6.3 ¶5)
        b"Content-Length: +3\r\n",  # not 1*DIGIT (RFC 9110 §8.6)
        b"Content-Length: 3, 4\r\n",
    ],
    ids=["conflicting", "signed", "list"],
)
def test_invalid_content_length_is_400(peer: Peer, headers: bytes):
    data = b"POST /echo HTTP/1.1\r\nHost: t\r\n" + headers + b"\r\nabcd"
    assert status_of(exchange(peer, data)) == 400


def test_equal_duplicate_content_lengths_are_one(peer: Peer):
    """RFC 9110 §8.6: identical repeated values may be treated as one."""
    data = request("POST", "/echo", [("Content-Length", "3"), ("Connection", "close")])
    data = data.replace(b"\r\n\r\n", b"\r\nContent-Length: 3\r\n\r\n") + b"abc"
    response = exchange(peer, data)
    assert status_of(response) == 200 and response.endswith(b"abc")


@pytest.mark.parametrize(
    "line", [b"Bad Name: x", b"Bad\x01: x", b": empty", b"X-A : space before colon"]
)
def test_header_field_name_with_invalid_bytes_is_400(peer: Peer, line: bytes):
    """RFC 9110 §5.1 (a name is a token); RFC 9112 §5.1 (no space before the colon)."""
    data = b"GET /echo HTTP/1.1\r\nHost: t\r\n" + line + b"\r\n\r\n"
    assert status_of(exchange(peer, data)) == 400


@pytest.mark.parametrize("eol", [b"\r\n", b"\n"], ids=["CRLF", "bare LF"])
def test_obsolete_line_folding(peer: Peer, eol: bytes):
    """RFC 9112 §5.2: a server must reject obs-fold with 400 or unfold it into
    spaces. We reject it, so the app never sees a value the client did not send,
    whatever the line endings (h11 reads bare-LF heads too); uvicorn lets h11
    unfold it."""
    data = b"GET /echo HTTP/1.1\r\nHost: t\r\nX-A: one\r\n two\r\nConnection: close\r\n\r\n"
    data = data.replace(b"\r\n", eol)
    assert status_of(exchange(peer, data)) == expect(peer, 400, 200)


def test_very_long_request_line(peer: Peer):
    """RFC 9112 §3: a target longer than the server will parse gets 414; uvicorn
    has no limit of its own on a head that arrives whole."""
    data = b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
    assert status_of(exchange(peer, data)) == expect(peer, 414, 200)


def test_keep_alive_is_the_default_on_http_11(peer: Peer):
    with peer.connect() as raw:
        for n in range(3):
            raw.send(request("POST", "/echo", body=str(n).encode()))
            response = raw.read_response()
            assert (response.status, response.body) == (200, str(n).encode())
        assert raw.quiet_for(0.2)


def test_connection_close_on_http_11_closes_after_the_response(peer: Peer):
    with peer.connect() as raw:
        raw.send(request("GET", "/echo", [("Connection", "close")]))
        response = raw.read_response()
        assert response.header(b"connection").lower() == b"close"
        assert raw.closed_within(TIMEOUT)


@pytest.mark.parametrize("keep_alive", [False, True], ids=["plain", "keep-alive"])
def test_http_10_connection_closes_after_the_response(peer: Peer, keep_alive: bool):
    """h11 (both servers) does not do HTTP/1.0 keep-alive: it answers and closes,
    which RFC 9112 §9.3 allows."""
    headers = [("Connection", "keep-alive")] if keep_alive else []
    with peer.connect() as raw:
        raw.send(request("GET", "/echo", headers, version="1.0"))
        response = raw.read_response()
        assert response.status == 200
        assert raw.closed_within(TIMEOUT)


@pytest.mark.parametrize("status", [204, 304])
def test_204_and_304_have_no_body_and_keep_the_connection(peer: Peer, status: int):
    """RFC 9110 §15.3.5, §15.4.5; RFC 9112 §6.3 ¶1: no body, no framing headers."""
    with peer.connect() as raw:
        raw.send(request("GET", f"/status/{status}"))
        response = raw.read_response()
        assert response.status == status
        assert response.header(b"content-length") is None
        assert response.header(b"transfer-encoding") is None
        raw.send(request("POST", "/echo", body=b"next"))
        assert raw.read_response().body == b"next"


def test_100_continue_before_the_body(peer: Peer):
    """RFC 9110 §10.1.1: the interim 100 has no body, then the final response."""
    with peer.connect() as raw:
        raw.send(
            b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n"
        )
        interim = raw.read_response()
        assert interim.status == 100
        raw.send(b"hi")
        response = raw.read_response()
        assert (response.status, response.body) == (200, b"hi")


def test_chunked_response_without_content_length(peer: Peer):
    with peer.connect() as raw:
        raw.send(request("GET", "/stream"))
        response = raw.read_response()
    assert response.framing == "chunked"
    assert response.body == b"one\ntwo\nthree\n"


def test_date_and_server_headers(peer: Peer):
    """RFC 9110 §6.6.1: an origin server with a clock sends Date."""
    with peer.connect() as raw:
        raw.send(request("GET", "/echo"))
        response = raw.read_response()
    assert response.header(b"date") is not None
    assert response.header(b"server") == expect(peer, b"asgi-scope/" + _version(), b"uvicorn")


def _version() -> bytes:
    from asgi_scope import __version__

    return __version__.encode()


def test_a_slow_client_does_not_block_other_connections(peer: Peer):
    """A head sent one byte at a time (slowloris) keeps only its own connection busy."""
    head = request("GET", "/echo", [("Connection", "close")])
    with peer.connect() as slow:
        stop = threading.Event()

        def dribble() -> None:
            for byte in head[:-4]:
                if stop.is_set():
                    return
                slow.send(bytes([byte]))
                time.sleep(0.01)

        thread = threading.Thread(target=dribble, daemon=True)
        thread.start()
        try:
            started = time.monotonic()
            for _ in range(5):
                with peer.connect() as fast:
                    fast.send(request("GET", "/echo"))
                    assert fast.read_response().status == 200
            assert time.monotonic() - started < 1.0
        finally:
            stop.set()
            thread.join(TIMEOUT)


def test_idle_keep_alive_connection_is_closed_after_the_timeout(peer: Peer):
    with peer.connect() as raw:
        raw.send(request("GET", "/echo"))
        raw.read_response()
        started = time.monotonic()
        assert raw.closed_within(KEEP_ALIVE + 2)
        assert time.monotonic() - started >= KEEP_ALIVE * 0.5


# lifespan (ASGI Lifespan spec 2.0)


def test_lifespan_state_is_copied_into_each_request_scope(peer: Peer):
    assert httpx.get(f"{peer.url}/state", timeout=TIMEOUT).text == "db"


# WebSocket (RFC 6455, ASGI WebSocket spec)


def test_websocket_echo_text_and_bytes(peer: Peer):
    with connect(peer.ws_url("/ws/echo"), open_timeout=TIMEOUT) as ws:
        ws.send("héllo")
        assert ws.recv(TIMEOUT) == "héllo"
        ws.send(b"\x00\xff")
        assert ws.recv(TIMEOUT) == b"\x00\xff"


def test_websocket_subprotocol_is_negotiated(peer: Peer):
    with connect(
        peer.ws_url("/ws/echo"), subprotocols=["chat.v2", "chat.v1"], open_timeout=TIMEOUT
    ) as ws:
        assert ws.subprotocol == "chat.v2"


def test_websocket_scope(peer: Peer):
    with connect(
        peer.ws_url("/ws/scope?x=%20y"), subprotocols=["p1", "p2"], open_timeout=TIMEOUT
    ) as ws:
        fields = json.loads(ws.recv(TIMEOUT))
    assert fields["type"] == "websocket"
    # 2.5: websocket.disconnect carries a reason (uvicorn says 2.4).
    assert fields["asgi"] == {"version": "3.0", "spec_version": expect(peer, "2.5", "2.4")}
    assert fields["http_version"] == "1.1"
    assert fields["scheme"] == "ws"
    assert (fields["path"], fields["raw_path"]) == ("/ws/scope", "/ws/scope")
    assert fields["query_string"] == "x=%20y"
    assert fields["subprotocols"] == ["p1", "p2"]
    assert fields["state"] == ["db"]
    assert fields["client"][0] == fields["server"][0] == "127.0.0.1"
    assert fields["server"][1] == peer.port
    assert "sec-websocket-key" in fields["header_names"]


def test_websocket_close_before_accept_is_403(peer: Peer):
    with pytest.raises(InvalidStatus) as info:
        connect(peer.ws_url("/ws/reject"), open_timeout=TIMEOUT)
    assert info.value.response.status_code == 403


def test_websocket_denial_response(peer: Peer):
    with pytest.raises(InvalidStatus) as info:
        connect(peer.ws_url("/ws/deny"), open_timeout=TIMEOUT)
    response = info.value.response
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Basic"
    assert response.body == b"no entry"


def test_websocket_app_close_code_and_reason_reach_the_client(peer: Peer):
    with connect(peer.ws_url("/ws/close"), open_timeout=TIMEOUT) as ws:
        with pytest.raises(ConnectionClosed):
            ws.recv(TIMEOUT)
        assert (ws.close_code, ws.close_reason) == (4001, "bye")


def test_websocket_client_close_code_and_reason_reach_the_app(peer: Peer):
    with connect(peer.ws_url("/ws/wait?case=close"), open_timeout=TIMEOUT) as ws:
        ws.close(4000, "done")
    assert seen(peer, "/ws/wait?case=close") == {"code": 4000, "reason": "done"}


def test_websocket_ping_is_answered_with_pong(peer: Peer):
    with peer.connect() as raw:
        assert wsc.open_socket(raw, "/ws/echo")[0] == 101
        raw.send(wsc.frame(wsc.PING, b"are you there"))
        assert wsc.read_frame(raw) == (True, wsc.PONG, b"are you there")


def test_websocket_fragmented_message_is_reassembled(peer: Peer):
    """RFC 6455 §5.4: fragments, with a ping between them (§5.5: control frames
    may be injected in the middle of a fragmented message)."""
    with peer.connect() as raw:
        assert wsc.open_socket(raw, "/ws/echo")[0] == 101
        raw.send(wsc.frame(wsc.TEXT, b"hel", fin=False))
        raw.send(wsc.frame(wsc.PING, b"p"))
        raw.send(wsc.frame(wsc.CONTINUATION, b"lo w", fin=False))
        raw.send(wsc.frame(wsc.CONTINUATION, b"orld", fin=True))
        assert wsc.read_frame(raw) == (True, wsc.PONG, b"p")
        assert wsc.read_frame(raw) == (True, wsc.TEXT, b"hello world")


def test_websocket_oversized_message_is_closed_with_1009(peer: Peer):
    """RFC 6455 §7.4.1: 1009, a message too big to process."""
    with peer.connect() as raw:
        assert wsc.open_socket(raw, "/ws/echo")[0] == 101
        raw.send(wsc.frame(wsc.BINARY, b"x" * (WS_MAX_SIZE + 1)))
        assert wsc.read_close(raw)[0] == 1009
        assert raw.closed_within(TIMEOUT)


def test_websocket_fragments_adding_up_to_too_much_are_closed_with_1009(peer: Peer):
    with peer.connect() as raw:
        assert wsc.open_socket(raw, "/ws/echo")[0] == 101
        half = b"x" * (WS_MAX_SIZE // 2 + 1)
        raw.send(wsc.frame(wsc.BINARY, half, fin=False))
        raw.send(wsc.frame(wsc.CONTINUATION, half, fin=True))
        assert wsc.read_close(raw)[0] == 1009


def test_websocket_unmasked_client_frame_is_a_protocol_error(peer: Peer):
    """RFC 6455 §5.1: a server must close on an unmasked client frame; §7.1.7:
    failing the connection, it should send a close frame first (1002). uvicorn's
    wsproto handler drops the TCP connection without one."""
    with peer.connect() as raw:
        assert wsc.open_socket(raw, "/ws/echo")[0] == 101
        raw.send(wsc.frame(wsc.TEXT, b"hi", mask=False))
        assert wsc.close_code_or_none(raw) == expect(peer, 1002, None)
        assert raw.closed_within(TIMEOUT)


def test_websocket_invalid_utf8_text_is_closed_with_1007(peer: Peer):
    """RFC 6455 §8.1: text must be UTF-8; otherwise fail the connection, with a
    1007 close frame (§7.4.1) where uvicorn sends none."""
    with peer.connect() as raw:
        assert wsc.open_socket(raw, "/ws/echo")[0] == 101
        raw.send(wsc.frame(wsc.TEXT, b"\xff\xfe"))
        assert wsc.close_code_or_none(raw) == expect(peer, 1007, None)
        assert raw.closed_within(TIMEOUT)


def test_websocket_handshake_without_key_is_400(peer: Peer):
    """RFC 6455 §4.2.1 item 5, §4.2.2: an invalid handshake gets a 400."""
    with peer.connect() as raw:
        raw.send(wsc.handshake("/ws/echo", key=None))
        assert raw.read_head()[0] == 400


def test_websocket_handshake_with_wrong_version_is_426(peer: Peer):
    """RFC 6455 §4.4: 426 with the versions the server speaks."""
    with peer.connect() as raw:
        raw.send(wsc.handshake("/ws/echo", version="8"))
        status, _, headers, _ = raw.read_head()
    assert status == 426
    assert (b"sec-websocket-version", b"13") in [(k.lower(), v) for k, v in headers]


def test_websocket_client_dropping_mid_frame_is_1006_for_the_app(peer: Peer):
    """RFC 6455 §7.1.5: closed without a close frame, the close code is 1006."""
    with peer.connect() as raw:
        assert wsc.open_socket(raw, "/ws/wait?case=drop")[0] == 101
        raw.send(wsc.frame(wsc.BINARY, b"abcdefgh")[:8])  # header, key and 2 bytes of 8
    assert seen(peer, "/ws/wait?case=drop")["code"] == expect(peer, 1006, 1005)


# settings that need a server of their own


@pytest.mark.parametrize("peer_name", PEERS)
def test_limit_concurrency_answers_503_past_the_limit(peer_name: str):
    """uvicorn's ``--limit-concurrency N``: 503 once N connections (or tasks) are
    open, counting the one asking."""
    peer = start(peer_name, "--limit-concurrency", "2", limit_concurrency=2)
    try:
        with peer.connect() as first:
            first.send(request("GET", "/echo"))
            assert first.read_response().status == 200
            with peer.connect() as second:
                second.send(request("GET", "/echo"))
                response = second.read_response()
                assert response.status == 503
                assert raw_closed(second)
        time.sleep(0.2)  # the server sees both connections go
        with peer.connect() as third:
            third.send(request("GET", "/echo"))
            assert third.read_response().status == 200
    finally:
        peer.stop()


def raw_closed(raw: Any) -> bool:
    return raw.closed_within(TIMEOUT)


@pytest.mark.parametrize("peer_name", PEERS)
def test_no_server_header_and_no_date_header(peer_name: str):
    peer = start(
        peer_name, "--no-server-header", "--no-date-header", server_header=False,
        date_header=False,
    )  # fmt: skip
    try:
        with peer.connect() as raw:
            raw.send(request("GET", "/echo"))
            response = raw.read_response()
        assert response.header(b"server") is None
        assert response.header(b"date") is None
    finally:
        peer.stop()


# lifespan startup failures (ASGI Lifespan spec 2.0; uvicorn's exit code 3)


def nothing_listens(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return True
    return False


@pytest.mark.parametrize("peer_name", PEERS)
@pytest.mark.parametrize("mode", ["auto", "on"])
def test_lifespan_startup_failed_stops_the_server_with_exit_code_3(peer_name: str, mode: str):
    """``lifespan.startup.failed`` stops the server in any mode; the app's message
    is shown; no port stays open."""
    code, out, port = run_to_exit(
        peer_name, "tests.apps.conformance:failing_startup", "--lifespan", mode
    )
    assert code == 3, out
    assert "no database" in out
    assert nothing_listens(port)


@pytest.mark.parametrize("peer_name", PEERS)
def test_lifespan_on_with_an_app_without_lifespan_exits_3(peer_name: str):
    code, out, port = run_to_exit(
        peer_name, "tests.apps.conformance:without_lifespan", "--lifespan", "on"
    )
    assert code == 3, out
    assert nothing_listens(port)


@pytest.mark.parametrize(
    ("upgrade", "connection"),
    [("websocket", "Upgrade"), ("WebSocket", "keep-alive, Upgrade"), ("websocket", "upgrade")],
    ids=["plain", "firefox", "lower-case"],
)
def test_websocket_handshake_header_tokens_are_case_insensitive_lists(
    peer: Peer, upgrade: str, connection: str
):
    """RFC 6455 §4.2.1: ``Upgrade`` contains ``websocket`` and ``Connection``
    contains ``Upgrade``, ASCII case-insensitively, among other tokens."""
    data = (
        "GET /ws/echo HTTP/1.1\r\nHost: t\r\n"
        f"Upgrade: {upgrade}\r\nConnection: {connection}\r\n"
        f"Sec-WebSocket-Key: {wsc.KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    ).encode()
    with peer.connect() as raw:
        raw.send(data)
        assert raw.read_head()[0] == 101
        raw.send(wsc.frame(wsc.TEXT, b"ok"))
        assert wsc.read_frame(raw) == (True, wsc.TEXT, b"ok")
