"""A real asgi-scope server on 127.0.0.1 for tests, and a raw HTTP/1.x client.

:class:`Live` runs :class:`~asgi_scope.session.LoopThread` with a fresh
:class:`~asgi_scope.trace.recorder.Recorder` on a port the OS picks, and drains
what the server records into a :class:`~asgi_scope.trace.store.Store` on
demand (:meth:`Live.collect`, :meth:`Live.wait_for`). The ``serve`` fixture in
``tests/conftest.py`` starts one and stops it after the test.

:class:`Raw` is a socket with a small HTTP/1.x response parser of its own (not
h11, which the server uses), for tests where the framing on the wire matters.
Every read has a timeout, so a server that never answers fails the test
instead of hanging it.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from asgi_scope.config import Config
from asgi_scope.server.runner import Server
from asgi_scope.session import LoopThread
from asgi_scope.trace.events import Event
from asgi_scope.trace.recorder import Recorder
from asgi_scope.trace.store import Store

TIMEOUT = 5.0
"""Seconds any single wait in a test may take before the test fails."""

E = TypeVar("E", bound=Event)


class Live:
    """One running server: ``url``, ``port``, ``recorder`` and a ``store`` of what
    it recorded so far (filled by :meth:`collect`)."""

    def __init__(self, app: Any, config: Config) -> None:
        self.app = app
        self.config = config
        self.recorder = Recorder()
        self.store = Store()
        self.thread = LoopThread(Server(config, app, self.recorder))
        self.stopped = False

    def start(self) -> Live:
        self.thread.start()
        return self

    def stop(self, timeout: float = TIMEOUT) -> None:
        """Shut down gracefully; fail if the server thread does not end in time."""
        if self.stopped:
            return
        self.stopped = True
        self.thread.stop(timeout)
        assert not self.thread._thread.is_alive(), f"server still running after {timeout} s"

    @property
    def url(self) -> str:
        return self.thread.url

    @property
    def port(self) -> int:
        return self.thread.source.port

    def connect(self, timeout: float = TIMEOUT) -> Raw:
        """A new raw client connection."""
        return Raw(self.port, timeout)

    # events

    def collect(
        self, until: Callable[[Store], object] | None = None, timeout: float = TIMEOUT
    ) -> Store:
        """Drain the recorder into :attr:`store` until ``until(store)`` is true.

        Without ``until``, drain once. Fails the test after ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        while True:
            self.store.add(self.recorder.drain())
            if until is None or until(self.store):
                return self.store
            if time.monotonic() > deadline:
                kinds = [type(e).__name__ for e in self.store.events[-30:]]
                raise AssertionError(
                    f"timed out after {timeout} s waiting for {getattr(until, '__name__', until)}"
                    f"; last events: {kinds}"
                )
            time.sleep(0.005)

    def events(self, kind: type[E], **match: Any) -> list[E]:
        """Events of ``kind`` collected so far whose fields equal ``match``."""
        return [
            e
            for e in self.store.events
            if isinstance(e, kind) and all(getattr(e, k) == v for k, v in match.items())
        ]

    def wait_for(self, kind: type[E], timeout: float = TIMEOUT, **match: Any) -> E:
        """The first event of ``kind`` matching ``match``, waiting for it if needed."""

        def found(_: Store) -> bool:
            return bool(self.events(kind, **match))

        found.__name__ = f"{kind.__name__}({match})"
        self.collect(found, timeout)
        return self.events(kind, **match)[0]


def wait_until(predicate: Callable[[], object], timeout: float = TIMEOUT, what: str = "") -> None:
    """Poll ``predicate`` until true; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what or predicate}")
        time.sleep(0.005)


# plain-ASGI helpers for test apps


async def read_body(receive: Any, into: list[dict[str, Any]] | None = None) -> bytes:
    """Receive ``http.request`` messages until ``more_body`` is false; return the body.

    Each message is appended to ``into`` (a copy) when given.
    """
    body = b""
    while True:
        message = await receive()
        if into is not None:
            into.append(dict(message))
        if message["type"] != "http.request":
            return body
        body += message.get("body", b"")
        if not message.get("more_body", False):
            return body


async def respond(
    send: Any,
    body: bytes = b"",
    status: int = 200,
    headers: list[tuple[bytes, bytes]] | None = None,
) -> None:
    """Send a complete response with a content-length, in one body message."""
    headers = [(b"content-length", str(len(body)).encode()), *(headers or [])]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def wait_threading_event(event: Any, timeout: float = TIMEOUT) -> bool:
    """Await a ``threading.Event`` set by the test thread, without blocking the loop."""
    return await asyncio.to_thread(event.wait, timeout)


# the raw client


@dataclass
class RawResponse:
    """A response as it was on the wire."""

    status: int
    reason: bytes
    headers: list[tuple[bytes, bytes]]
    head: bytes  # status line and headers, with the blank line
    body: bytes  # decoded body (chunk framing removed)
    framing: str  # "content-length", "chunked", "close" or "none"
    body_raw: bytes = b""  # the body bytes as sent, chunk framing included
    chunks: list[bytes] = field(default_factory=list)

    def header(self, name: bytes) -> bytes | None:
        """The first value of header ``name`` (case-insensitive), or None."""
        name = name.lower()
        return next((v for n, v in self.headers if n.lower() == name), None)


class Raw:
    """A client socket to the server, with buffered reads that all time out."""

    def __init__(self, port: int, timeout: float = TIMEOUT) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.timeout = timeout
        self.buf = bytearray()  # received, not yet consumed
        self._received = bytearray()
        self.eof = False

    def __enter__(self) -> Raw:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.sock.close()

    @property
    def received(self) -> bytes:
        """Every byte received so far."""
        return bytes(self._received)

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _fill(self) -> bool:
        """Read once into the buffer; False at end of stream."""
        if self.eof:
            return False
        try:
            data = self.sock.recv(65536)
        except ConnectionResetError:
            data = b""
        if not data:
            self.eof = True
            return False
        self.buf += data
        self._received += data
        return True

    def _take(self, n: int) -> bytes:
        data = bytes(self.buf[:n])
        del self.buf[:n]
        return data

    def read_until(self, sep: bytes) -> bytes:
        """Bytes up to and including ``sep``; EOFError if the stream ends first."""
        searched = 0
        while sep not in self.buf[searched:]:
            searched = max(0, len(self.buf) - len(sep) + 1)
            if not self._fill():
                raise EOFError(f"stream ended before {sep!r}; unread: {self.buf!r}")
        return self._take(self.buf.index(sep) + len(sep))

    def read_exact(self, n: int) -> bytes:
        while len(self.buf) < n:
            if not self._fill():
                raise EOFError(f"stream ended after {len(self.buf)} of {n} bytes")
        return self._take(n)

    def read_eof(self) -> bytes:
        """Everything until the server closes the connection."""
        while self._fill():
            pass
        return self._take(len(self.buf))

    def closed_within(self, seconds: float) -> bool:
        """True if the server closes the connection within ``seconds`` (any data
        that arrives meanwhile is buffered)."""
        deadline = time.monotonic() + seconds
        try:
            while not self.eof:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.sock.settimeout(left)
                self._fill()
        except TimeoutError:
            return False
        finally:
            self.sock.settimeout(self.timeout)
        return True

    def quiet_for(self, seconds: float) -> bool:
        """True if nothing arrives (and the connection stays open) for ``seconds``."""
        before = len(self._received)
        return not self.closed_within(seconds) and len(self._received) == before

    def read_head(self) -> tuple[int, bytes, list[tuple[bytes, bytes]], bytes]:
        """``(status, reason, headers, raw head)`` of the next response."""
        head = self.read_until(b"\r\n\r\n")
        lines = head[:-4].split(b"\r\n")
        version, status, *reason = lines[0].split(b" ", 2)
        assert version in (b"HTTP/1.1", b"HTTP/1.0"), lines[0]
        headers = []
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            headers.append((name, value.strip()))
        return int(status), reason[0] if reason else b"", headers, head

    def read_chunk(self) -> tuple[bytes, bytes]:
        """One chunk of a chunked body: ``(data, raw bytes)``; data is b"" for the last."""
        size_line = self.read_until(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            trailer = self.read_until(b"\r\n")  # no trailers are expected
            return b"", size_line + trailer
        data = self.read_exact(size)
        crlf = self.read_exact(2)
        assert crlf == b"\r\n", f"chunk of {size} bytes not followed by CRLF: {crlf!r}"
        return data, size_line + data + crlf

    def read_response(self, method: bytes = b"GET") -> RawResponse:
        """The next response, its body framed as RFC 9112 §6.3 says."""
        status, reason, headers, head = self.read_head()
        response = RawResponse(status, reason, headers, head, b"", "none")
        te = response.header(b"transfer-encoding")
        length = response.header(b"content-length")
        if method == b"HEAD" or status < 200 or status in (204, 304):
            return response
        if te is not None:
            assert te.lower() == b"chunked", te
            response.framing = "chunked"
            while True:
                data, raw = self.read_chunk()
                response.body_raw += raw
                if not data:
                    break
                response.chunks.append(data)
                response.body += data
        elif length is not None:
            response.framing = "content-length"
            response.body = response.body_raw = self.read_exact(int(length))
        else:
            response.framing = "close"
            response.body = response.body_raw = self.read_eof()
        return response


def request(
    method: str = "GET",
    path: str = "/",
    headers: list[tuple[str, str]] | None = None,
    body: bytes = b"",
    version: str = "1.1",
) -> bytes:
    """The bytes of a request; a Host header first, Content-Length if a body is given."""
    lines = [f"{method} {path} HTTP/{version}", "Host: test"]
    lines += [f"{name}: {value}" for name, value in headers or []]
    if body:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def free_port() -> int:
    """A port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_peers(listener: Any, count: int, timeout: float) -> bool:
    """Poll until ``count`` streams are attached to an attach ``listener`` (its
    ``peers``); False after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while listener.peers < count:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True
