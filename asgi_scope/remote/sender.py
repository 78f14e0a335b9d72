"""The middleware's sender: a bounded queue of events, and a daemon thread that
streams them to ``asgi-scope attach``.

Recording is one append to a bounded queue (:class:`BoundedRecorder`,
``max_events``); a daemon thread (:class:`StreamSender`) drains it every 50 ms,
connects lazily, reconnects after a listener went away (at most once a
second), encodes and writes with non-blocking sends into a bounded buffer
(``max_buffer`` bytes). Whatever does not fit is dropped and counted, never
queued without bound; the next stream that connects is told how many events it
missed, in a :class:`~asgi_scope.trace.events.ServerNote`.

Runs inside the user's app process: it imports nothing heavy (an import-linter
contract keeps it so).
"""

from __future__ import annotations

import atexit
import collections
import contextlib
import json
import os
import select
import socket
import sys
import threading
import time
import weakref
from collections.abc import Awaitable, Callable, MutableMapping
from typing import IO, Any

from asgi_scope.remote.auth import MAX_AUTH_LINE, AuthError, answer, check_proof, load_token
from asgi_scope.remote.stream import (
    Address,
    socket_problem,
)
from asgi_scope.trace.capture import Header, event_lines
from asgi_scope.trace.events import (
    Event,
    ServerNote,
)
from asgi_scope.trace.private_file import create_private
from asgi_scope.trace.recorder import DEFAULT_MAX_BODY, Recorder

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

DEFAULT_MAX_EVENTS = 10_000
"""Events waiting for the sender thread at most; more are dropped and counted."""

DEFAULT_MAX_BUFFER = 1 << 20
"""Bytes of encoded lines waiting for a slow listener at most; then events drop."""

INTERVAL = 0.05
"""Seconds between two drains of the recorder by the sender thread."""

RETRY = 1.0
"""Seconds between two attempts to connect to a listener that is not there."""


class BoundedRecorder(Recorder):
    """A :class:`Recorder` that keeps at most ``limit`` events waiting to be drained.

    Past the limit :meth:`~Recorder.record` (and each :attr:`~Recorder.emit`)
    still builds and returns the event (the shim reads its ``seq``) but does not
    queue it; :attr:`dropped` counts it. One ``len()`` more than the plain
    recorder's append.
    """

    __slots__ = ("dropped", "limit")

    _KEEP = "if len(pending) < recorder.limit: append(event)\n    else: recorder.dropped += 1"

    def __init__(self, max_body: int = DEFAULT_MAX_BODY, limit: int = DEFAULT_MAX_EVENTS) -> None:
        super().__init__(max_body)
        self.limit = limit
        self.dropped = 0


class SenderThread:
    """The daemon thread a sender drains its recorder in (``_run``, given by each
    sender): started once, stopped when asked, and waited for at interpreter
    exit (bounded), so what it holds is sent."""

    def __init__(self, name: str) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def _run(self) -> None:
        raise NotImplementedError

    def start(self) -> None:
        """Start the thread; what it holds is sent at interpreter exit (bounded)."""
        self._thread.start()
        _SENDERS.add(self)

    def close(self, timeout: float = 1.0) -> None:
        """Send what is queued (for at most ``timeout`` seconds), then stop."""
        if self._thread.is_alive():
            self._stop.set()
            self._thread.join(timeout)

    def stop(self) -> None:
        """Like :meth:`close` without waiting: the thread sends what is queued (for
        at most half a second) and stops on its own."""
        self._stop.set()


class StreamSender(SenderThread):
    """Drains a recorder in a daemon thread and streams its events to ``address``.

    ``header`` builds the header line sent first on each new connection (its
    ``started_ns`` must be taken then, from the recorder's clock). Counters, all
    read without a lock (ints, one writer): :attr:`sent` events written,
    :attr:`dropped` events lost (nothing listening, listener too slow, a write
    failed; the recorder's own drops are added), :attr:`connects` streams opened.
    Never raises into the caller; an address that cannot be used is retried.
    """

    def __init__(
        self,
        recorder: BoundedRecorder,
        address: Address,
        header: Callable[[], Header],
        *,
        max_buffer: int = DEFAULT_MAX_BUFFER,
        interval: float = INTERVAL,
        retry: float = RETRY,
    ) -> None:
        self.recorder = recorder
        self.address = address
        self.header = header
        self.max_buffer = max_buffer
        self.interval = interval
        self.retry = retry
        self.sent = 0
        self.dropped = 0
        self.connects = 0
        self.error = ""
        """The last reason a connection failed or ended, for debugging."""
        self.refused = 0
        """Connections not made because the socket (or its directory) is not ours."""
        self._warned = False
        self._sock: socket.socket | None = None
        self._file: IO[str] | None = None
        self._buffer = bytearray()
        # One entry per batch in the buffer: [bytes of it still unsent, its events].
        self._batches: collections.deque[list[int]] = collections.deque()
        self._next_try = 0.0
        self.absent = 0
        """Events dropped because nothing listened (a count, part of :attr:`dropped`)."""
        self._told = [0, 0]  # absent drops and slow drops already told to a listener
        super().__init__("asgi-scope-sender")

    @property
    def connected(self) -> bool:
        """Whether a listener (or the file) is open now."""
        return self._sock is not None or self._file is not None

    # -- the thread -----------------------------------------------------------

    def _run(self) -> None:
        while True:
            stopping = self._stop.is_set()
            self._wait()
            self._pump()
            if stopping:
                break
        deadline = time.monotonic() + 0.5
        while self._buffer and self._sock is not None and time.monotonic() < deadline:
            self._wait()
            self._flush()
        self._disconnect("closed")

    def _wait(self) -> None:
        """Sleep one interval, waking early when the socket can take more bytes
        or says the listener went away."""
        sock = self._sock
        if sock is None:
            self._stop.wait(self.interval)
            return
        writers = [sock] if self._buffer else []
        try:
            readable, _, _ = select.select([sock], writers, [], self.interval)
        except (OSError, ValueError):
            self._disconnect("select failed")
            return
        if readable:
            try:
                gone = not sock.recv(4096)  # the listener sends nothing; b"" is its close
            except BlockingIOError:
                gone = False
            except OSError:
                gone = True
            if gone:
                self._disconnect("the listener closed the stream")

    def _pump(self) -> None:
        if not self.connected and time.monotonic() >= self._next_try:
            self._connect()
        if self.connected and len(self._buffer) <= self.max_buffer:
            self._tell()  # in the batch drained now: the listener hears of it at once
        batch = self.recorder.drain()
        if batch:
            if not self.connected:
                self.dropped += len(batch)
                self.absent += len(batch)
            elif len(self._buffer) > self.max_buffer:
                self.dropped += len(batch)
            else:
                self._queue(batch)
        self._flush()

    def _tell(self) -> None:
        """Record a note of the drops no listener was told of yet (it goes out with
        the batch drained next): before this listener attached (info), or because
        the listener, or this thread, did not keep up (a warning)."""
        absent = self.absent
        slow = self.dropped - absent + self.recorder.dropped
        pid = os.getpid()
        if absent > self._told[0]:
            missed, self._told[0] = absent - self._told[0], absent
            text = (
                f"pid {pid}: {missed} events recorded while no listener was attached were not kept"
            )
            self.recorder.record(ServerNote, conn=0, level="info", text=text)
        if slow > self._told[1]:
            missed, self._told[1] = slow - self._told[1], slow
            text = f"pid {pid}: {missed} events were dropped: the listener did not keep up"
            self.recorder.record(ServerNote, conn=0, level="warning", text=text)

    def _queue(self, batch: list[Event]) -> None:
        lines, lost = event_lines(batch)
        self.dropped += lost
        data = "".join(lines).encode("utf-8")
        if self._file is not None:
            try:
                self._file.write(data.decode("utf-8"))
                self._file.flush()
                self.sent += len(batch)
            except OSError as exc:
                self.dropped += len(batch)
                self._disconnect(f"writing failed: {exc}")
            return
        self._buffer += data
        self._batches.append([len(data), len(batch)])

    def _flush(self) -> None:
        sock = self._sock
        if sock is None or not self._buffer:
            return
        try:
            n = sock.send(self._buffer)
        except BlockingIOError:
            return
        except OSError as exc:
            self._disconnect(f"sending failed: {exc}")
            return
        del self._buffer[:n]
        batches = self._batches
        while n and batches:
            first = batches[0]
            if first[0] > n:
                first[0] -= n
                break
            n -= first[0]
            self.sent += first[1]
            batches.popleft()

    def _connect(self) -> None:
        self._next_try = time.monotonic() + self.retry
        address = self.address
        try:
            if address.kind == "file":
                # One file per process: several workers writing one file would
                # interleave their lines. "{pid}" in the path names each one's.
                self._file = create_private(address.path.replace("{pid}", str(os.getpid())))
                self._file.write(json.dumps(self.header().to_json(), ensure_ascii=False) + "\n")
                self._file.flush()
            else:
                if address.kind == "unix":
                    problem = socket_problem(address.path)
                    if problem:  # not ours: someone else would get cookies, credentials
                        self._refuse(f"not streaming to {address}: {problem}")
                        return
                    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                    target: Any = address.path
                else:
                    family = socket.AF_INET6 if ":" in address.host else socket.AF_INET
                    sock = socket.socket(family, socket.SOCK_STREAM)
                    target = (address.host, address.port)
                try:
                    sock.settimeout(1.0)
                    sock.connect(target)
                    _authenticate(sock)
                    sock.setblocking(False)
                except AuthError as exc:
                    sock.close()
                    self._refuse(f"not streaming to {address}: {exc}")
                    return
                except OSError:
                    sock.close()
                    raise
                self._sock = sock
                header = json.dumps(self.header().to_json(), ensure_ascii=False) + "\n"
                self._buffer = bytearray(header.encode("utf-8"))
                self._batches = collections.deque([[len(self._buffer), 0]])
        except OSError as exc:
            self.error = f"cannot open {address}: {exc.strerror or exc}"
            return
        self.connects += 1
        self.error = ""

    def _refuse(self, why: str) -> None:
        """Do not connect (events keep being dropped as if nothing listened, and
        counted); say why on stderr, once."""
        self.refused += 1
        self.error = why
        if not self._warned:
            self._warned = True
            with contextlib.suppress(Exception):
                sys.stderr.write(f"asgi-scope: {why}\n")
                sys.stderr.flush()

    def _disconnect(self, why: str) -> None:
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.close()
            self._sock = None
            lost = sum(events for _, events in self._batches)  # the listener left
            self.dropped += lost
            self.absent += lost
            self._buffer.clear()
            self._batches.clear()
        if self._file is not None:
            with contextlib.suppress(OSError):
                self._file.close()
            self._file = None
        self.error = why
        self._next_try = time.monotonic() + self.retry


def _authenticate(sock: socket.socket) -> None:
    """The middleware's half of the handshake (:mod:`asgi_scope.remote.auth`), on a
    connected blocking socket: answer the challenge, check the listener's proof.
    Raises :class:`~asgi_scope.remote.auth.AuthError` or ``OSError`` (a timeout)."""
    token = load_token(create=False)
    challenged, ours, reply = answer(token, _line(sock))
    sock.sendall(reply)
    check_proof(token, challenged, ours, _line(sock))


def _line(sock: socket.socket) -> bytes:
    """One handshake line (at most :data:`~asgi_scope.remote.auth.MAX_AUTH_LINE`
    bytes; the listener sends nothing after it until we speak again)."""
    line = b""
    while not line.endswith(b"\n"):
        chunk = sock.recv(MAX_AUTH_LINE - len(line))
        if not chunk or len(line) + len(chunk) >= MAX_AUTH_LINE:
            raise AuthError("the peer is not an asgi-scope listener (no challenge)")
        line += chunk
    return line


class OtlpSender(SenderThread):
    """Drains a recorder in a daemon thread into an OTLP exporter instead of a
    stream: ``TraceMiddleware(app, sink="http://collector:4318")``. The exporter
    (:class:`~asgi_scope.export.otlp_http.OtlpExporter`, OTLP/HTTP protobuf)
    builds the spans and log records and sends them from a thread of its own;
    this one moves each drained batch to it every ``interval`` seconds, as
    :class:`StreamSender` drains. ``service`` is the resource's ``service.name``,
    ``started_ns`` the wall clock (epoch ns) at the recorder's ``t_ns`` 0.
    Needs the ``asgi-scope[otel]`` extra (``ImportError`` without it); raises
    ``EndpointError`` for an ``endpoint`` that is not an http(s) URL.
    :attr:`dropped`: spans the exporter lost (collector down or slow).
    """

    def __init__(
        self,
        recorder: BoundedRecorder,
        endpoint: str,
        service: str,
        started_ns: int,
        *,
        interval: float = INTERVAL,
    ) -> None:
        from asgi_scope.export.otlp_http import OtlpExporter

        self.recorder = recorder
        self.exporter = OtlpExporter(endpoint, service, started_ns)
        self.interval = interval
        super().__init__("asgi-scope-otlp-pump")

    @property
    def dropped(self) -> int:
        """Spans lost on the way to the collector."""
        return self.exporter.dropped

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._move()
        self._move()
        self.exporter.close(0.5)

    def _move(self) -> None:
        batch = self.recorder.drain()
        if batch:
            self.exporter(batch)


_SENDERS: weakref.WeakSet[SenderThread] = weakref.WeakSet()


@atexit.register
def _flush_at_exit() -> None:  # pragma: no cover - runs at interpreter exit
    for sender in list(_SENDERS):
        sender.close(timeout=0.5)
