"""Property-based fuzzing of the server over real sockets (hypothesis).

Hypothesis builds request heads, bodies with every framing (Content-Length
right and wrong, chunked with good and bad chunk lines, extensions, trailers),
pipelines of them, and WebSocket frames (every opcode, fin and rsv bits,
masked or not, lengths in every encoding, some lying), valid, almost valid
and garbage (bytes flipped, inserted, cut), and sends them, in random
segments, to one real server on 127.0.0.1. After each example:

- what the client received parses as a sequence of valid HTTP/1.1 responses
  (a parser of this file's own, not h11) or WebSocket server frames, and the
  server closed the connection or left it open only while an app waits for a
  body that has not all come (there is no body timeout);
- with a wait, the server closes an idle or half-sent connection within its
  keep-alive and request-head timeouts;
- nothing raised out of a protocol callback or a task (the server loop's
  exception handler saw nothing);
- the trace has the connection, opened and closed, its received bytes a
  prefix of what was sent and what the client got a prefix of its sent bytes;
- a normal request on a new connection is still answered 200.

CI runs a bounded number of examples per property; the long run is::

    ASGI_SCOPE_FUZZ_EXAMPLES=5000 .venv/bin/pytest tests/server/test_fuzz.py
"""

from __future__ import annotations

import gc
import os
import re
import select
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from asgi_scope.config import Config
from asgi_scope.trace.events import (
    BytesReceived,
    BytesSent,
    ConnectionClosed,
    ConnectionOpened,
    ExchangeEnded,
    ScopeCreated,
)
from tests.conftest import TEST_CONFIG
from tests.live import Live, read_body, request, respond
from tests.server.ws_client import handshake

TIMEOUTS = 0.3
"""The server's keep-alive and request-head timeouts in this module (seconds)."""


def examples(ci: int, slow: bool = False) -> int:
    """``ci`` examples, or ``$ASGI_SCOPE_FUZZ_EXAMPLES`` for a long run (a tenth
    of them for a ``slow`` property, whose every example waits out timeouts)."""
    long = os.environ.get("ASGI_SCOPE_FUZZ_EXAMPLES")
    if long is None:
        return ci
    return max(ci, int(long) // 10) if slow else int(long)


def fuzz(ci: int, slow: bool = False) -> settings:
    """The settings of a property: ``examples(ci)`` examples, no deadline (a
    socket round trip varies), no example database (CI stays reproducible from
    the seed hypothesis prints on failure)."""
    return settings(
        max_examples=examples(ci, slow),
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                               HealthCheck.function_scoped_fixture],
        database=None,
    )  # fmt: skip


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """HTTP: reads the body, answers ``METHOD length``; WebSocket: echoes."""
    if scope["type"] == "http":
        body = await read_body(receive)
        await respond(send, f"{scope['method']} {len(body)}".encode())
    elif scope["type"] == "websocket":
        await receive()
        await send({"type": "websocket.accept"})
        while True:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                return
            await send({"type": "websocket.send", "text": message.get("text"),
                        "bytes": message.get("bytes")})  # fmt: skip


class Fuzzed:
    """The module's one server, with what its loop's exception handler saw."""

    def __init__(self) -> None:
        config = {**TEST_CONFIG, "timeout_keep_alive": TIMEOUTS}
        self.live = Live(app, Config(**config, timeout_request_head=TIMEOUTS))
        self.live.start()
        self.errors: list[dict[str, Any]] = []
        loop = self.live.thread.source.loop
        assert loop is not None
        loop.set_exception_handler(lambda _, context: self.errors.append(context))
        self.cases = 0


@pytest.fixture(scope="module")
def fuzzed() -> Iterator[Fuzzed]:
    f = Fuzzed()
    yield f
    f.live.stop()
    print(f"\nfuzz: {f.cases} cases sent to the server")


# strategies

TOKEN = st.text("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
                min_size=1, max_size=12)  # fmt: skip
METHODS = st.one_of(
    st.sampled_from(["GET", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "HEAD"]), TOKEN
)
TARGETS = st.one_of(
    st.sampled_from(["/", "/a/b?c=d&e", "*", "http://h:1/x?y", "/%00%ff%1b", "//", "/?"]),
    st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=40).map("/".__add__),
)
VERSIONS = st.sampled_from(["HTTP/1.1"] * 6 + ["HTTP/1.0", "HTTP/2.0", "HTTP/1.", "http/1.1", ""])
VALUES = st.one_of(
    st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=30),
    st.binary(max_size=30).map(lambda b: b.decode("latin-1")),
)
HEADERS = st.lists(
    st.tuples(
        st.one_of(st.sampled_from(["Host", "Accept", "Connection", "Expect", "X-A"]), TOKEN),
        st.one_of(st.sampled_from(["close", "keep-alive", "100-continue", "x"]), VALUES),
    ),
    max_size=6,
)


@st.composite
def bodies(draw: Any) -> tuple[list[tuple[str, str]], bytes]:
    """Framing headers and body bytes: none, Content-Length (right, wrong, odd)
    or chunked (good and bad chunk lines, extensions, trailers, no last chunk)."""
    kind = draw(st.sampled_from(["none", "length", "chunked"]))
    body = draw(st.binary(max_size=200))
    if kind == "none":
        return [], b""
    if kind == "length":
        declared = draw(st.one_of(st.just(str(len(body))), st.sampled_from(
            [str(len(body) + 1), str(max(0, len(body) - 1)), "-1", "1e3", "0x10", " 5", "",
             f"{len(body)}, {len(body)}", "99999999999999999999"])))  # fmt: skip
        return [("Content-Length", declared)], body
    data = b""
    for chunk in draw(st.lists(st.binary(min_size=1, max_size=40), max_size=6)):
        size = draw(st.one_of(st.just(f"{len(chunk):x}"), st.sampled_from(
            [f"{len(chunk):X}", f"{len(chunk):x};ext=1", f"{len(chunk) + 1:x}", "zz", "-1",
             f"0{len(chunk):x}", ""])))  # fmt: skip
        data += size.encode() + b"\r\n" + chunk + draw(st.sampled_from([b"\r\n", b"\n", b"", b"x"]))
    ends = [b"0\r\n\r\n", b"0\r\nT: v\r\n\r\n", b"0\r\n", b"", b"0;e\r\n\r\n"]
    data += draw(st.sampled_from(ends))
    return [("Transfer-Encoding", draw(st.sampled_from(["chunked", "gzip, chunked", "x"])))], data


@st.composite
def requests_(draw: Any) -> bytes:
    method, target, version = draw(METHODS), draw(TARGETS), draw(VERSIONS)
    framing, body = draw(bodies())
    lines = [f"{method} {target} {version}".rstrip(), *(f"{n}: {v}" for n, v in draw(HEADERS))]
    lines += [f"{n}: {v}" for n, v in framing]
    eol = draw(st.sampled_from(["\r\n"] * 8 + ["\n", "\r"]))
    return (eol.join(lines) + eol + eol).encode("latin-1") + body


@st.composite
def mutated(draw: Any, data: bytes) -> bytes:
    """``data`` with a few bytes flipped, inserted or cut, or the tail dropped."""
    for _ in range(draw(st.integers(0, 3))):
        if not data:
            break
        at = draw(st.integers(0, len(data) - 1))
        how = draw(st.sampled_from(["flip", "insert", "delete", "truncate"]))
        if how == "flip":
            data = data[:at] + bytes([data[at] ^ draw(st.integers(1, 255))]) + data[at + 1 :]
        elif how == "insert":
            data = data[:at] + draw(st.binary(min_size=1, max_size=8)) + data[at:]
        elif how == "delete":
            data = data[:at] + data[at + 1 :]
        else:
            data = data[:at]
    return data


@st.composite
def streams(draw: Any) -> bytes:
    """One to three requests (pipelined), maybe mutated, or plain garbage."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.binary(min_size=1, max_size=300))
    data = b"".join(draw(st.lists(requests_(), min_size=1, max_size=3)))
    return draw(mutated(data)) if draw(st.booleans()) else data


def splits(data: bytes) -> st.SearchStrategy[list[bytes]]:
    """``data`` cut into segments at random points."""

    def cut(cuts: list[int]) -> list[bytes]:
        ends = [*sorted(cuts), len(data)]
        return [data[a:b] for a, b in zip([0, *sorted(cuts)], ends, strict=True)]

    return st.lists(st.integers(0, len(data)), max_size=4).map(cut)


# the client side


def exchange(port: int, segments: list[bytes], wait: float) -> tuple[bytes, bool, int]:
    """Send ``segments`` on a new connection, read until the server closes it or
    is quiet for ``wait`` seconds; return (received, closed by the server, port)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=2)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    local = sock.getsockname()[1]
    received = bytearray()
    closed = False
    try:
        for segment in segments:
            try:
                sock.sendall(segment)
            except (BrokenPipeError, ConnectionResetError):
                break
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            ready, _, _ = select.select([sock], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                break
            try:
                data = sock.recv(65536)
            except ConnectionResetError:
                data = b""
            if not data:
                closed = True
                break
            received += data
            deadline = max(deadline, time.monotonic() + 0.05)
    finally:
        sock.close()
    return bytes(received), closed, local


_STATUS = re.compile(rb"HTTP/1\.1 ([1-5][0-9][0-9]) [\x20-\x7e]*")
_FIELD = re.compile(rb"([-!#$%&'*+.^_`|~0-9A-Za-z]+): ([\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?)?")


def parse_responses(data: bytes, closed: bool, head: bool = False) -> list[int]:
    """The statuses of the responses in ``data``; AssertionError if any is not
    valid HTTP/1.1 (RFC 9112), or if one is cut short though the server closed.

    ``head``: a HEAD request may be among those answered, so a response whose
    body would begin with a status line had none (RFC 9110 §9.3.2)."""
    statuses = []
    pos = 0
    while pos < len(data):
        end = data.find(b"\r\n\r\n", pos)
        assert end >= 0 or not closed, f"response head cut short: {data[pos : pos + 200]!r}"
        if end < 0:
            break
        status_line, *fields = data[pos:end].split(b"\r\n")
        match = _STATUS.fullmatch(status_line)
        assert match, f"bad status line {status_line!r}"
        status = int(match.group(1))
        headers = {}
        for line in fields:
            field = _FIELD.fullmatch(line)
            assert field, f"bad header line {line!r}"
            headers.setdefault(field.group(1).lower(), field.group(2) or b"")
        pos = end + 4
        statuses.append(status)
        if status == 101:
            break
        if status < 200 or status in (204, 304):
            assert b"content-length" not in headers or status < 200
            continue
        if b"transfer-encoding" in headers:
            assert headers[b"transfer-encoding"] == b"chunked"
            while True:
                eol = data.find(b"\r\n", pos)
                if eol < 0:
                    assert not closed, "chunked body cut short"
                    return statuses
                size = int(data[pos:eol], 16)
                pos = eol + 2 + size + 2
                if size == 0:
                    break
        elif b"content-length" in headers:
            if head and (pos == len(data) or data.startswith(b"HTTP/1.1 ", pos)):
                continue
            pos += int(headers[b"content-length"])
            assert pos <= len(data) or not closed, "body shorter than its content-length"
        else:
            return statuses  # close-delimited: the rest is the body
    return statuses


def check_trace(fuzzed: Fuzzed, local: int, sent: bytes, received: bytes) -> list[Any]:
    """The trace has the connection from ``local``, closed, with its bytes."""
    live = fuzzed.live

    def conn_of() -> int:
        opened = [e.conn for e in live.events(ConnectionOpened) if e.client[1] == local]
        return opened[-1] if opened else 0

    def has_closed(_: Any) -> bool:
        return bool(conn_of()) and bool(live.events(ConnectionClosed, conn=conn_of()))

    live.collect(has_closed, timeout=3)
    conn = conn_of()
    events = [e for e in live.store.events if e.conn == conn]
    got = b"".join(e.data for e in events if isinstance(e, BytesReceived))
    assert got == sent[: len(got)], "the recorded received bytes are not what was sent"
    assert sum(e.size for e in events if isinstance(e, BytesReceived)) == len(got)
    out = b"".join(e.data for e in events if isinstance(e, BytesSent))
    assert received == out[: len(received)], "the client got bytes the trace does not have"
    return events


def after_each(fuzzed: Fuzzed) -> None:
    gc.collect()  # a task whose exception was never retrieved reports it now
    assert not fuzzed.errors, fuzzed.errors
    with fuzzed.live.connect(2) as raw:
        raw.send(request("GET", "/alive"))
        assert raw.read_response().body == b"GET 0", "the server stopped serving"
    fuzzed.live.store.clear()
    fuzzed.cases += 1


# the properties

ALLOWED = {100, 200, 400, 408, 414, 431, 501, 505}  # 500 would be the app failing


@fuzz(60)
@given(st.data())
def test_http_requests_get_valid_answers_or_a_close(fuzzed, data):
    stream = data.draw(streams())
    segments = data.draw(splits(stream))
    received, closed, local = exchange(fuzzed.live.port, segments, wait=0.1)
    statuses = parse_responses(received, closed, b"HEAD" in stream)
    assert set(statuses) <= ALLOWED, statuses
    events = check_trace(fuzzed, local, stream, received)
    ended = [e for e in events if isinstance(e, ExchangeEnded)]
    assert all(e.outcome in ("complete", "disconnect") for e in ended), ended
    after_each(fuzzed)


@fuzz(12, slow=True)
@given(st.data())
def test_the_server_closes_within_its_timeouts(fuzzed, data):
    """Left alone after sending, a connection is closed by the server within the
    keep-alive or head timeout, unless an app is still waiting for body bytes."""
    stream = data.draw(streams())
    started = time.monotonic()
    received, closed, local = exchange(fuzzed.live.port, [stream], wait=TIMEOUTS * 2 + 0.4)
    took = time.monotonic() - started
    parse_responses(received, closed, b"HEAD" in stream)
    events = check_trace(fuzzed, local, stream, received)
    if not closed:  # only an app waiting for a body may hold a connection open
        scopes = {e.exchange for e in events if isinstance(e, ScopeCreated)}
        done = {e.exchange for e in events
                if isinstance(e, ExchangeEnded) and e.outcome == "complete"}  # fmt: skip
        # What was still in progress when the client left ended "disconnect".
        assert scopes - done, f"open {took:.2f} s with no exchange in progress: {received!r}"
    after_each(fuzzed)


def ws_frame(opcode: int, payload: bytes, fin: bool, rsv: int, mask: bool, width: int) -> bytes:
    head = bytes([(0x80 if fin else 0) | rsv << 4 | opcode])
    n, bit = len(payload), 0x80 if mask else 0
    if width == 7 and n < 126:
        head += bytes([bit | n])
    elif width <= 16 and n < 1 << 16:
        head += bytes([bit | 126]) + n.to_bytes(2, "big")
    else:
        head += bytes([bit | 127]) + n.to_bytes(8, "big")
    if not mask:
        return head + payload
    key = b"\x01\x02\x03\x04"
    return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


FRAMES = st.builds(
    ws_frame,
    opcode=st.one_of(st.sampled_from([0, 1, 2, 8, 9, 10]), st.integers(0, 15)),
    payload=st.one_of(st.binary(max_size=140), st.text(max_size=40).map(str.encode),
                      st.integers(1000, 4999).map(lambda c: c.to_bytes(2, "big") + b"bye")),
    fin=st.booleans(),
    rsv=st.one_of(st.just(0), st.integers(0, 7)),
    mask=st.one_of(st.just(True), st.booleans()),
    width=st.sampled_from([7, 16, 64]),
)  # fmt: skip


def parse_frames(data: bytes) -> list[int]:
    """The opcodes of the server's frames; AssertionError if one is not valid."""
    opcodes, pos = [], 0
    while pos + 2 <= len(data):
        b0, b1 = data[pos], data[pos + 1]
        assert not b1 & 0x80, "a server frame is masked"
        assert not b0 & 0x70, "a server frame has rsv bits"
        assert b0 & 0x0F in (0, 1, 2, 8, 9, 10), f"server frame opcode {b0 & 0x0F}"
        n, pos = b1 & 0x7F, pos + 2
        if n == 126:
            n, pos = int.from_bytes(data[pos : pos + 2], "big"), pos + 2
        elif n == 127:
            n, pos = int.from_bytes(data[pos : pos + 8], "big"), pos + 8
        if b0 & 0x0F == 8 and n >= 2 and pos + n <= len(data):
            code = int.from_bytes(data[pos : pos + 2], "big")
            # RFC 6455 §7.4: the defined codes a frame may carry, or the
            # client's own 3000-4999 echoed back (§5.5.1).
            defined = 1000 <= code <= 1014 and code not in (1004, 1005, 1006)
            assert defined or 3000 <= code <= 4999, code
        opcodes.append(b0 & 0x0F)
        pos += n
    return opcodes


@fuzz(40)
@given(st.lists(FRAMES, max_size=6), st.data())
def test_websocket_frames_get_valid_frames_or_a_close(fuzzed, frames, data):
    stream = b"".join(frames)
    if data.draw(st.booleans()):
        stream = data.draw(mutated(stream))
    opening = handshake("/ws")
    segments = [opening, *data.draw(splits(stream))]
    received, _, local = exchange(fuzzed.live.port, segments, wait=0.1)
    head, _, rest = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 101 "), received[:200]
    parse_frames(rest)
    check_trace(fuzzed, local, opening + stream, received)
    after_each(fuzzed)
