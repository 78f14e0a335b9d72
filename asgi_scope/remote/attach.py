"""``asgi-scope attach``: listen for live streams and feed them to a view.

A :class:`Listener` accepts stream connections (:mod:`asgi_scope.remote.stream`) on a
Unix socket or a loopback TCP port, one per app process (every uvicorn or
hypercorn worker running a :class:`~asgi_scope.remote.middleware.TraceMiddleware`
connects on its own), reads each one's header and events with the capture
reader (:func:`~asgi_scope.trace.capture.parse_header`,
:func:`~asgi_scope.trace.capture.decode_event`) and hands them to an
:class:`AttachRecorder`, which the inspector and the headless printer drain
like the recorder of our own server: one source of truth.

**Ids.** Every process numbers its connections and exchanges from 1, so ids
collide across workers and across re-attaches. The recorder re-numbers on
arrival: each (stream, id) pair gets a fresh id from the attach session's own
counters (connection and exchange ids; ``seq`` is stamped anew as for any
recorded event). Connection 0 (the process itself: lifespan, notes) stays 0;
its lifespan exchanges get fresh ids like the rest. The worker's pid stays in
each connection's :class:`~asgi_scope.trace.events.ConnectionOrigin` (shown
per exchange) and in the stream header (shown in the attach/detach notes).

**Times.** An event's ``t_ns`` counts from its process's session start; the
header's ``started_ns`` says when that was (wall clock), so each event is moved
onto the attach session's clock: ``t_ns + started_ns - attach_started_ns``
(clamped at 0), and exchanges of several workers line up on one time axis.

**Bad input.** A stream whose first line is not a capture header, or that
comes from a newer format version, is refused: the listener writes one line
saying why back to the peer, closes, and records a warning
:class:`~asgi_scope.trace.events.ServerNote`; so is a stream that sends a line
that is not a valid event (whatever it sent before stays), with a number out
of range, or more than it may hold. The view keeps running and other streams
are not affected.

**Bounds.** Before it is authenticated a peer may send one line of at most
:data:`~asgi_scope.remote.auth.MAX_AUTH_LINE` bytes; after, lines of at most
:data:`~asgi_scope.remote.stream.MAX_LINE`. The bytes of lines not finished
yet, of all peers together, stay under :data:`MAX_HELD`: the peer whose read
would pass it is dropped. At most :data:`MAX_PEERS` streams are served at once.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import itertools
import json
import os
import signal
import socket
import stat
from collections.abc import Callable
from typing import Any

from asgi_scope.remote.auth import (
    MAX_AUTH_LINE,
    AuthError,
    challenge,
    check_answer,
    load_token,
)
from asgi_scope.remote.stream import MAX_LINE, Address, make_private_dir
from asgi_scope.trace.backlog import BoundedRelay
from asgi_scope.trace.capture import (
    CaptureError,
    Header,
    decode_event,
    event_kinds,
    parse_header,
    wall_clock_at_zero,
)
from asgi_scope.trace.events import (
    EXCHANGE_EVENTS,
    ConnectionClosed,
    ConnectionOpened,
    Event,
    ServerNote,
)
from asgi_scope.trace.recorder import E

AUTH_TIMEOUT = 5.0
"""Seconds a new stream has to answer the listener's challenge."""

MAX_PEERS = 128
"""Streams served at once (authenticated or not); one more is refused."""

MAX_HELD = 256 * 1024 * 1024
"""Bytes of unfinished lines held for all streams together."""

READ_SIZE = 64 * 1024
"""Bytes asked of a stream's socket per read."""


class TooMuch(Exception):
    """A stream sent more than it may; ``str()`` says what, in one line."""


class Budget:
    """Bytes that all streams together may hold in unfinished lines."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.held = 0

    def take(self, size: int) -> None:
        """Hold ``size`` more bytes. Raises :class:`TooMuch` past the limit."""
        if self.held + size > self.limit:
            raise TooMuch(f"more than {self.limit} bytes held for all streams")
        self.held += size


class Lines:
    """The ``\\n``-terminated lines of one stream, read in chunks of
    :data:`READ_SIZE` bytes; the bytes read and not yet returned are held from
    ``budget``, which all streams share."""

    def __init__(self, reader: asyncio.StreamReader, budget: Budget) -> None:
        self._reader = reader
        self._budget = budget
        self._buffer = bytearray()
        self._ready: collections.deque[bytes] = collections.deque()

    async def readline(self, limit: int) -> bytes:
        """The next line, without its ``\\n``. Raises :class:`TooMuch` for a line
        longer than ``limit`` bytes or a read past the budget, and
        ``asyncio.IncompleteReadError`` (with what came) at the end of the stream."""
        while not self._ready:
            buffer = self._buffer
            if len(buffer) > limit:
                raise TooMuch(f"a line longer than {limit} bytes")
            chunk = await self._reader.read(READ_SIZE)
            if not chunk:
                raise asyncio.IncompleteReadError(bytes(buffer), None)
            self._budget.take(len(chunk))
            end = chunk.rfind(b"\n")
            if end < 0:
                buffer += chunk
                continue
            buffer += chunk[:end]
            self._ready.extend(bytes(buffer).split(b"\n"))
            self._buffer = bytearray(chunk[end + 1 :])
        line = self._ready.popleft()
        self._budget.held -= len(line) + 1
        if len(line) > limit:
            raise TooMuch(f"a line longer than {limit} bytes")
        return line

    def release(self) -> None:
        """Give back to the budget what this stream still holds (at its end)."""
        self._budget.held -= len(self._buffer) + sum(len(line) + 1 for line in self._ready)
        self._buffer.clear()
        self._ready.clear()


class ListenError(Exception):
    """The address cannot be listened on; ``str()`` is one line for the user."""


class AttachRecorder(BoundedRelay):
    """A :class:`Recorder` that also takes events decoded from streams, with their
    ids re-numbered (see the module doc). :meth:`inject` is called from the
    listener's thread; views drain as usual. Bounded as
    :class:`~asgi_scope.trace.backlog.BoundedRelay`: a view slower than the
    streams loses events, counted, with a note where they were."""

    __slots__ = ("_conn_ids", "_exchange_ids", "started_ns")

    def __init__(self, max_body: int = 0) -> None:
        super().__init__(max_body)
        self.started_ns = wall_clock_at_zero(self.now())
        """Wall-clock nanoseconds since the Unix epoch at ``t_ns`` 0."""
        self._conn_ids = itertools.count(1)
        self._exchange_ids = itertools.count(1)

    def new_ids(self) -> tuple[int, int]:
        """A fresh ``(connection id, exchange id)`` pair of this session's, for an
        exchange made here (an OpenTelemetry SERVER span: remote/otlp_in.py)."""
        return next(self._conn_ids), next(self._exchange_ids)

    def place(self, kind: type[E], /, t_ns: int, **fields: Any) -> E:
        """Queue ``kind(seq=..., t_ns=t_ns, **fields)``: an event that happened at
        ``t_ns`` (on this session's clock), not now. Raises ``TypeError`` for a
        missing or unknown field. Bounded as :meth:`inject` is."""
        event = kind(0, t_ns, **fields)
        room = self.admit((event,))  # after a gap, its note takes the next seq
        event.seq = next(self._count)
        if room:
            self._pending.append(event)
        return event

    def stream(self) -> StreamIds:
        """A fresh id map for one stream connection."""
        return StreamIds(self)

    def inject(self, event: Event, ids: StreamIds) -> Event:
        """Queue ``event`` from the stream ``ids`` belongs to, with a new ``seq``,
        its ``t_ns`` on this session's clock, and re-numbered ids."""
        changes: dict[str, Any] = {
            "t_ns": max(0, event.t_ns + ids.offset_ns),
            "conn": ids.conn(event.conn),
        }
        if isinstance(event, EXCHANGE_EVENTS):
            changes["exchange"] = ids.exchange(event.exchange)  # type: ignore[attr-defined]
        event = dataclasses.replace(event, **changes)
        room = self.admit((event,))  # after a gap, its note takes the next seq
        event.seq = next(self._count)
        if room:
            self._pending.append(event)
        return event


class StreamIds:
    """The id map of one stream: its connection and exchange ids to the session's."""

    __slots__ = ("_conns", "_exchanges", "_recorder", "offset_ns", "open")

    def __init__(self, recorder: AttachRecorder) -> None:
        self._recorder = recorder
        self._conns: dict[int, int] = {0: 0}
        self._exchanges: dict[int, int] = {0: 0}
        self.offset_ns = 0
        """Added to the stream's ``t_ns`` to put it on the session's clock."""
        self.open: set[int] = set()
        """Session ids of this stream's connections not closed yet."""

    def conn(self, conn: int) -> int:
        new = self._conns.get(conn)
        if new is None:
            new = self._conns[conn] = next(self._recorder._conn_ids)
        return new

    def exchange(self, exchange: int) -> int:
        new = self._exchanges.get(exchange)
        if new is None:
            new = self._exchanges[exchange] = next(self._recorder._exchange_ids)
        return new


class LoopServer:
    """What a listener that serves on one asyncio loop shares: :meth:`stop` from
    any thread calls its ``close()`` on that loop (``_loop``, set once serving)."""

    _loop: asyncio.AbstractEventLoop | None

    def close(self) -> None:
        raise NotImplementedError

    def stop(self, force: bool = False) -> None:
        """Stop serving (``force`` changes nothing: nothing is left in flight).
        Thread-safe: may be called from any thread once serving started."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self.close)


class Listener(LoopServer):
    """Accepts streams on ``address`` and injects their events into ``recorder``.

    An event source of :mod:`asgi_scope.session`: :meth:`serve` binds (raises
    :class:`ListenError`), calls ``ready()``, and serves until :meth:`stop`.
    :attr:`peers` counts streams attached now; :attr:`refused` streams refused
    so far; :attr:`held` bytes of unfinished lines held now, at most
    ``max_held`` for all streams together.
    """

    def __init__(
        self, address: Address, recorder: AttachRecorder, *, max_held: int = MAX_HELD
    ) -> None:
        self.address = address
        self.recorder = recorder
        self.peers = 0
        self.refused = 0
        self.apps: list[str] = []
        """The app names of the streams attached so far, first come first."""
        self._server: asyncio.base_events.Server | None = None
        self._kinds = event_kinds()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._token = b""
        self._budget = Budget(max_held)

    @property
    def held(self) -> int:
        """Bytes of unfinished lines held now, for all streams together."""
        return self._budget.held

    @property
    def url(self) -> str:
        """The address listened on, with the bound port (``:0`` resolved)."""
        if self.address.kind == "tcp" and self._server is not None:
            port = self._server.sockets[0].getsockname()[1]
            return str(dataclasses.replace(self.address, port=port))
        return str(self.address)

    async def _listen(self) -> None:
        """Bind and listen. Raises :class:`ListenError` (one line) if it cannot."""
        address = self.address
        try:
            self._token = load_token(create=True)
        except AuthError as exc:
            raise ListenError(f"cannot listen on {address}: {exc}") from None
        try:
            if address.kind == "unix":
                problem = make_private_dir(address.path)
                if problem:
                    raise ListenError(f"cannot listen on {address}: {problem}")
                _clear_stale_socket(address.path)
                # The stream holds credentials: the socket is 0600 from its birth
                # (a chmod after bind leaves a moment when others may connect).
                umask = os.umask(0o177)
                try:
                    self._server = await asyncio.start_unix_server(
                        self._handle, path=address.path, limit=READ_SIZE
                    )
                finally:
                    os.umask(umask)
            elif address.kind == "tcp":
                self._server = await asyncio.start_server(
                    self._handle, host=address.host, port=address.port, limit=READ_SIZE
                )
            else:
                raise ListenError(f"cannot listen on {address}: not a socket address")
        except OSError as exc:
            raise ListenError(f"cannot listen on {address}: {exc.strerror or exc}") from None
        self._note("info", f"listening for streams on {self.url}")

    async def serve(
        self, *, handle_signals: bool = True, ready: Callable[[], None] | None = None
    ) -> None:
        """Listen, call ``ready()``, and serve until :meth:`stop` (or SIGINT/SIGTERM
        with ``handle_signals``). Raises :class:`ListenError` if it cannot listen."""
        self._loop = loop = asyncio.get_running_loop()
        await self._listen()
        assert self._server is not None
        serving = loop.create_task(self._server.serve_forever())
        if handle_signals:
            for sig in (signal.SIGINT, signal.SIGTERM):
                with contextlib.suppress(NotImplementedError, RuntimeError):
                    loop.add_signal_handler(sig, self.stop)
        if ready is not None:
            ready()
        try:
            with contextlib.suppress(asyncio.CancelledError):
                await serving
        finally:
            self.close()
            await asyncio.sleep(0)  # the streams' handlers record their detach

    def close(self) -> None:
        """Stop listening, drop every stream, remove the Unix socket file."""
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        if self.address.kind == "unix":
            with contextlib.suppress(OSError):
                if stat.S_ISSOCK(os.stat(self.address.path).st_mode):
                    os.unlink(self.address.path)

    def _note(self, level: str, text: str) -> None:
        self.recorder.record(ServerNote, conn=0, level=level, text=text)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        peer = _peer_name(writer)
        if len(self._tasks) >= MAX_PEERS:
            await self._refuse(writer, f"{peer}: more than {MAX_PEERS} streams at once")
            writer.close()
            return
        if task is not None:
            self._tasks.add(task)
        ids = self.recorder.stream()
        lines = Lines(reader, self._budget)
        header: Header | None = None
        try:
            await self._authenticate(lines, writer)
            header = parse_header(await lines.readline(MAX_LINE), peer)
            self._attached(header, ids, peer)
            number = 1
            while True:
                line = await lines.readline(MAX_LINE)
                number += 1
                self._event(line, number, peer, ids)
        except asyncio.IncompleteReadError as exc:
            if header is None and exc.partial.strip():
                await self._refuse(writer, f"{peer}: not an asgi-scope stream (no header line)")
        except TooMuch as exc:
            await self._refuse(writer, f"{peer}: {exc}")
        except CaptureError as exc:
            await self._refuse(writer, str(exc))
        except AuthError as exc:
            await self._refuse(writer, f"{peer}: not authenticated: {exc}")
        except ValueError as exc:  # a line that is not JSON or not an event
            await self._refuse(writer, f"{peer}: {exc}")
        except (ConnectionError, OSError):
            pass
        finally:
            lines.release()
            if task is not None:
                self._tasks.discard(task)
            writer.close()
            if header is not None:
                self._detached(header, ids)

    async def _authenticate(self, lines: Lines, writer: asyncio.StreamWriter) -> None:
        """The listener's half of the handshake (:mod:`asgi_scope.remote.auth`):
        challenge, check the answer, prove ourselves. Raises
        :class:`~asgi_scope.remote.auth.AuthError`."""
        nonce, line = challenge()
        writer.write(line)
        try:
            await writer.drain()
            reply = await asyncio.wait_for(lines.readline(MAX_AUTH_LINE), AUTH_TIMEOUT)
        except asyncio.TimeoutError:
            raise AuthError(f"no answer to the challenge within {AUTH_TIMEOUT:g} s") from None
        except (asyncio.IncompleteReadError, TooMuch):
            raise AuthError("no answer to the challenge (not an asgi-scope stream?)") from None
        _, proof = check_answer(self._token, nonce, reply)
        writer.write(proof)

    def _event(self, line: bytes, number: int, peer: str, ids: StreamIds) -> None:
        try:
            data = json.loads(line)
        except (ValueError, RecursionError) as exc:  # also a too-long int, too deep
            raise ValueError(f"line {number} is not valid JSON") from exc
        try:
            event = decode_event(data, self._kinds)
        except ValueError as exc:
            raise ValueError(f"line {number} is not a valid event: {exc}") from None
        except RecursionError:
            raise ValueError(f"line {number} is not a valid event: nested too deeply") from None
        event = self.recorder.inject(event, ids)
        if isinstance(event, ConnectionOpened):
            ids.open.add(event.conn)
        elif isinstance(event, ConnectionClosed):
            ids.open.discard(event.conn)

    def _attached(self, header: Header, ids: StreamIds, peer: str) -> None:
        ids.offset_ns = header.started_ns - self.recorder.started_ns
        self.peers += 1
        if header.app and header.app not in self.apps:
            self.apps.append(header.app)
        self._note("info", f"{_who(header)} attached ({peer})")

    def _detached(self, header: Header, ids: StreamIds) -> None:
        self.peers -= 1
        recorder = self.recorder
        for conn in sorted(ids.open):  # the process can no longer say how they ended
            recorder.record(ConnectionClosed, conn=conn, by="server", reason="the stream detached")
        self._note("info", f"{_who(header)} detached")

    async def _refuse(self, writer: asyncio.StreamWriter, why: str) -> None:
        self.refused += 1
        self._note("warning", f"stream refused: {why}")
        with contextlib.suppress(OSError, ConnectionError):
            writer.write(f"asgi-scope: refused: {why}\n".encode("utf-8", "replace"))
            await asyncio.wait_for(writer.drain(), 1.0)


def _who(header: Header) -> str:
    pid = header.options.get("pid")
    source = header.options.get("source") or "stream"
    who = f"{source} of {header.app or '?'}"
    return f"{who}, pid {pid}" if isinstance(pid, int) else who


def _peer_name(writer: asyncio.StreamWriter) -> str:
    peer = writer.get_extra_info("peername")
    if isinstance(peer, tuple) and len(peer) >= 2:
        return f"peer {peer[0]}:{peer[1]}"
    return "peer on the unix socket"


def _clear_stale_socket(path: str) -> None:
    """Remove a Unix socket file nobody listens on any more (a listener that was
    killed); refuse to touch a live one or a file that is not a socket."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(mode):
        raise ListenError(f"cannot listen on unix:{path}: the file exists and is not a socket")
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.settimeout(0.5)
        probe.connect(path)
    except OSError:
        os.unlink(path)  # stale
        return
    finally:
        probe.close()
    raise ListenError(f"cannot listen on unix:{path}: another listener is attached there")
