"""The inspector's side of the app process: bind, spawn, relay, reload, bury.

:class:`Supervisor` is the event source of ``asgi-scope run`` (see
:mod:`asgi_scope.session`). It binds the listening socket itself and hands it
to each app process (:mod:`asgi_scope.server.worker`, started with
``subprocess`` and the socket's descriptor passed), as uvicorn's supervisors
do, so the port stays open across reloads and crashes. Each app process's
events arrive in frames over a Unix socket pair (:mod:`asgi_scope.trace.channel`)
and are queued, in order of arrival, in one
:class:`~asgi_scope.trace.channel.RelayRecorder`, which the views drain like
any recorder. Its stdout and stderr are read through pipes; each line becomes
an output note (a :class:`~asgi_scope.trace.events.ServerNote` of level
``"output"``), with the exchange whose app was running when it was written, if
only one was (the app process stamps the line: :mod:`asgi_scope.server.output`).
Such a line may come before that exchange's scope (the channel is polled): it
waits for it, at most :data:`HOLD` seconds, so the note follows its exchange.

**When an app process ends** without being asked to (``os._exit``, a signal),
the supervisor records how (exit code or signal name) as an error note, ends
its open exchanges as ``aborted`` and its open connections, and sets
:attr:`Supervisor.died`; without ``--reload`` it then stops serving (headless
exits 3; the TUI stays on the trace). Every event the process wrote before it
died is kept: the channel is read to its end first.

**Reload** (``--reload``): on a change under the watched directories
(watchfiles), the old process is told to stop (no new connection or exchange;
WebSockets closed 1012; in-flight requests get ``--timeout-graceful-shutdown``
seconds, then it is killed; one whose loop does not even answer the stop
within a second, blocked by the app, is killed at once), and a new one starts
with the ids that follow the old one's. If the new one cannot load the app, the error and its
traceback become notes and the next change tries again.

**Step mode** crosses as commands: :class:`RemoteGate` is the TUI's gate,
mirroring what the app process holds.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import json
import os
import signal
import socket
import stat
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from asgi_scope.config import Config
from asgi_scope.server.output import unstamp
from asgi_scope.server.reload import Watch
from asgi_scope.server.runner import StartupError, cannot_listen, url_of
from asgi_scope.trace.channel import ChannelError, FrameReader, RelayRecorder, decode_events, frame
from asgi_scope.trace.events import (
    ConnectionClosed,
    ConnectionOpened,
    ExchangeEnded,
    ProtocolError,
    ScopeCreated,
    ServerNote,
)
from asgi_scope.trace.step import Held

MAX_OUTPUT_LINE = 16 * 1024
"""Characters of one line of the app's output kept in a note (the rest is cut)."""

POLL = 0.005
"""Seconds between two reads of an app process's channel."""

CHANNEL_BUFFER = 4 << 20
"""Bytes the channel buffers between two reads (asked for; the kernel caps it)."""

HOLD = 0.5
"""Seconds a stamped output line waits at most for its exchange's scope."""

KILL_MARGIN = 2.0
"""Seconds an app process gets past the graceful timeout (lifespan shutdown)
before it is killed."""


class AppStartError(StartupError):
    """The app process could not start: ``str()`` is the one line, ``details`` the
    user's traceback (may be empty)."""

    def __init__(self, message: str, details: str = "") -> None:
        super().__init__(message)
        self.details = details


def bind(config: Config) -> socket.socket:
    """The socket to serve: ``--fd``'s, ``--uds``'s or ``--host``/``--port``'s (see
    :func:`bind_tcp`). Raises :class:`StartupError` with one line."""
    if config.fd is not None:
        try:
            return socket.socket(fileno=os.dup(config.fd))
        except OSError as exc:
            raise StartupError(f"cannot serve --fd {config.fd}: {exc.strerror or exc}") from None
    if config.uds is not None:
        return bind_unix(config.uds)
    return bind_tcp(config)


def bind_unix(path: str) -> socket.socket:
    """A Unix domain socket bound at ``path`` (a stale socket file there is
    replaced; any other file is not). Raises :class:`StartupError`."""
    try:
        if stat.S_ISSOCK(os.lstat(path).st_mode):
            os.unlink(path)
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise StartupError(f"cannot listen on unix:{path}: {exc.strerror or exc}") from None
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(path)
    except OSError as exc:
        sock.close()
        raise StartupError(f"cannot listen on unix:{path}: {exc.strerror or exc}") from None
    return sock


def bind_tcp(config: Config) -> socket.socket:
    """The socket for ``config`` (TCP, ``SO_REUSEADDR``), bound, for app processes.
    The first app process to serve makes it listen: until then a client is
    refused, as before any server listens; afterwards the port stays open while
    the inspector holds it, whichever app process accepts. Raises
    :class:`StartupError` with one line."""
    try:
        infos = socket.getaddrinfo(
            config.host or None,
            config.port,
            type=socket.SOCK_STREAM,
            flags=socket.AI_PASSIVE,
        )
        family, kind, proto, _, address = infos[0]
        sock = socket.socket(family, kind, proto)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind(address)
        except OSError:
            sock.close()
            raise
    except socket.gaierror as exc:
        raise cannot_listen(config, OSError(exc.errno, exc.strerror)) from None
    except OSError as exc:
        raise cannot_listen(config, exc) from None
    return sock


HIDDEN_BELOW = {
    "warning": frozenset({"info"}),
    "error": frozenset({"info", "warning"}),
    "critical": frozenset({"info", "warning", "error"}),
}
"""The levels of the server's own notes each ``--log-level`` drops (the app's
output and reloads are always shown)."""


def _env_file(path: str) -> dict[str, str]:
    """The variables of a ``.env`` file (python-dotenv's syntax, as uvicorn reads
    it). Raises :class:`StartupError` without python-dotenv."""
    try:
        from dotenv import dotenv_values
    except ImportError:
        raise StartupError("--env-file needs python-dotenv: pip install python-dotenv") from None
    return {k: v for k, v in dotenv_values(path).items() if v is not None}


def exit_status(returncode: int) -> str:
    """How a process ended, in words: ``exit code 7`` or ``signal SIGSEGV``."""
    if returncode < 0:
        try:
            return f"signal {signal.Signals(-returncode).name}"
        except ValueError:
            return f"signal {-returncode}"
    return f"exit code {returncode}"


class AppProcess:
    """One app process and what the inspector knows of it."""

    def __init__(self, supervisor: Supervisor) -> None:
        self.supervisor = supervisor
        self.proc: asyncio.subprocess.Process | None = None
        self.channel: socket.socket | None = None
        self.ready: asyncio.Future[tuple[str, str] | None] = (
            asyncio.get_running_loop().create_future()
        )
        self.draining: asyncio.Future[tuple[int, int]] = asyncio.get_running_loop().create_future()
        self.stopping = False
        self.causes: dict[int, int] = {}
        self.scopes: dict[int, Any] = {}  # decode_events's across this channel's frames
        self.open: set[int] = set()
        self.inflight: dict[int, int] = {}
        self.max_ids = (0, 0)
        self._readers: list[asyncio.Task[None]] = []
        self._held: collections.deque[tuple[int, str]] = collections.deque()
        self._held_since = 0.0

    @property
    def pid(self) -> int:
        """The process id (0 before it started)."""
        return self.proc.pid if self.proc is not None else 0

    async def start(self, spec: dict[str, Any], listen: socket.socket) -> None:
        """Spawn the process and start reading its channel and its output."""
        ours, theirs = socket.socketpair()
        with contextlib.suppress(OSError):  # room for what comes between two polls
            theirs.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, CHANNEL_BUFFER)
        spec = {**spec, "listen_fd": listen.fileno(), "channel_fd": theirs.fileno()}
        env = {**os.environ, **self.supervisor.env, "PYTHONUNBUFFERED": "1"}
        try:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "asgi_scope.server.worker",
                json.dumps(spec),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                pass_fds=(listen.fileno(), theirs.fileno()),
                start_new_session=True,  # Ctrl-C in the terminal is the inspector's
                env=env,
            )
        finally:
            theirs.close()
        ours.setblocking(False)
        self.channel = ours
        loop = asyncio.get_running_loop()
        assert self.proc.stdout is not None and self.proc.stderr is not None
        self._readers = [
            loop.create_task(self._read_channel(ours)),
            loop.create_task(self._read_output(self.proc.stdout)),
            loop.create_task(self._read_output(self.proc.stderr)),
        ]

    def command(self, tag: str, data: Any) -> None:
        """Send one command (on the supervisor's loop)."""
        channel = self.channel
        if channel is not None:
            with contextlib.suppress(OSError):  # a few bytes: the buffer has room
                channel.send(frame(tag, data))

    async def _read_channel(self, channel: socket.socket) -> None:
        """Read the channel every :data:`POLL` seconds, all there is, to its end.

        Polled, not awaited: an app process that writes a frame does not wake the
        inspector for each one (a wake-up per frame costs the app process more
        than encoding it); the socket's buffer holds what comes in between."""
        frames = FrameReader()
        try:
            while True:
                try:
                    data = channel.recv(1 << 20)
                except BlockingIOError:
                    if self._held and time.monotonic() - self._held_since > HOLD:
                        self._release(everything=True)
                    await asyncio.sleep(POLL)
                    continue
                if not data:
                    break
                await asyncio.sleep(0)  # a busy app process must not starve the views
                self.received(frames.feed(data))
        except ChannelError as exc:
            self.supervisor.note("error", f"app process {self.pid}: {exc}; its channel is closed")
        except (ConnectionError, OSError):
            pass

    def received(self, frames: list[tuple[str, Any]]) -> None:
        """Act on ``frames`` read from the channel, oldest first. The events of
        consecutive ``"events"`` frames are relayed in one batch (the app process
        writes a frame at each hand-off: a few events each). Raises
        :class:`~asgi_scope.trace.channel.ChannelError` for a batch that does not
        decode (what came before it is relayed)."""
        events: list[Any] = []
        for tag, value in frames:
            if tag == "events":
                try:
                    events += decode_events(value, self.scopes)
                except ChannelError:
                    if events:
                        self._events(events)
                    raise
                continue
            if events:
                self._events(events)
                events = []
            if tag == "held":
                self.supervisor.gate_update(self, value)
            elif tag == "ready" and not self.ready.done():
                self.ready.set_result(None)
            elif tag == "failed" and not self.ready.done():
                message, details = value
                self.ready.set_result((str(message), str(details)))
            elif tag == "draining" and not self.draining.done():
                conn, exchange = value
                self.draining.set_result((int(conn), int(exchange)))
        if events:
            self._events(events)

    def _events(self, events: list[Any]) -> None:
        """Track ids and exchanges in flight in ``events``, relay them, and release
        the app's output held for them."""
        open_, inflight = self.open, self.inflight
        for event in events:
            kind = type(event)
            if kind is ConnectionOpened:
                open_.add(event.conn)
                self.max_ids = (max(self.max_ids[0], event.conn), self.max_ids[1])
            elif kind is ConnectionClosed:
                open_.discard(event.conn)
            elif kind is ScopeCreated:
                inflight[event.exchange] = event.conn
                self.max_ids = (self.max_ids[0], max(self.max_ids[1], event.exchange))
            elif kind is ProtocolError:  # a 400: an exchange without a scope
                self.max_ids = (self.max_ids[0], max(self.max_ids[1], event.exchange))
            elif kind is ExchangeEnded:
                inflight.pop(event.exchange, None)
        hidden = self.supervisor.hidden
        if hidden:
            events = [e for e in events if type(e) is not ServerNote or e.level not in hidden]
        self.supervisor.recorder.relay(events, self.causes)
        if self._held:
            self._release()

    async def _read_output(self, stream: asyncio.StreamReader) -> None:
        partial = ""
        with contextlib.suppress(ConnectionError, OSError):
            while True:
                data = await stream.read(65536)
                if not data:
                    break
                *lines, partial = (partial + data.decode("utf-8", "replace")).split("\n")
                for line in lines:
                    self._output(line)
                if len(partial) > MAX_OUTPUT_LINE:
                    self._output(partial)
                    partial = ""
        if partial:
            self._output(partial)

    def _output(self, line: str) -> None:
        """One line of the app's output: noted now or, stamped with an exchange whose
        scope has not come through the channel yet, held (with every line after it)
        until it has, or for :data:`HOLD` seconds at most."""
        exchange, text = unstamp(line)
        if not self._held and exchange <= self.max_ids[1]:
            self.supervisor.output(text, exchange)
            return
        if not self._held:
            self._held_since = time.monotonic()
        self._held.append((exchange, text))

    def _release(self, everything: bool = False) -> None:
        """Note the held lines whose exchange has come (or, ``everything``, all)."""
        held = self._held
        while held and (everything or held[0][0] <= self.max_ids[1]):
            exchange, text = held.popleft()
            self.supervisor.output(text, exchange)
        self._held_since = time.monotonic()

    async def wait(self) -> int:
        """Wait for the process to end and its pipes to be read to their end; its
        return code."""
        assert self.proc is not None
        code = await self.proc.wait()
        await asyncio.gather(*self._readers, return_exceptions=True)
        self._release(everything=True)
        if self.channel is not None:
            self.channel.close()
            self.channel = None
        return code

    def kill(self) -> None:
        """SIGKILL, if it still runs."""
        if self.proc is not None and self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.kill()

    def abort(self, how: str) -> None:
        """Close what the dead process left open: exchanges ``aborted``, connections."""
        record = self.supervisor.recorder.record
        for exchange, conn in sorted(self.inflight.items()):
            record(
                ExchangeEnded, conn=conn, exchange=exchange, scope={}, outcome="aborted", status=0
            )
        for conn in sorted(self.open):
            record(
                ConnectionClosed, conn=conn, by="server", reason=f"the app process ended ({how})"
            )
        self.inflight.clear()
        self.open.clear()


class RemoteGate:
    """Step mode's gate as the TUI sees it, for a gate that lives in the app process
    (:class:`~asgi_scope.trace.step.Gate`'s UI side: the same methods). What is
    held is mirrored from the app process's ``"held"`` frames; every release is a
    command. Thread-safe: the UI calls it, the supervisor's loop updates it."""

    def __init__(self, supervisor: Supervisor, stepping: bool, breakpoint: bool) -> None:
        self._supervisor = supervisor
        self.stepping = stepping
        self.breakpoint: object | None = True if breakpoint else None
        self.version = 0
        self._held: list[Held] = []
        self._lock = threading.Lock()

    def update(self, held: list[Held], stepping: bool, breakpoint: bool) -> None:
        """What the app process's gate holds now (from its ``"held"`` frame)."""
        with self._lock:
            self._held = held
            self.stepping = stepping
            self.breakpoint = True if breakpoint else None
            self.version += 1

    def held(self) -> list[Held]:
        """What is held now, oldest first."""
        with self._lock:
            return list(self._held)

    def _send(self, method: str, *args: Any) -> None:
        self._supervisor.call_soon(lambda: self._supervisor.gate_command(method, args))

    def step(self, exchange: int | None = None) -> Held | None:
        """Release one message (see :meth:`~asgi_scope.trace.step.Gate.step`)."""
        held = self.held()
        mine = [h for h in held if exchange is not None and h.exchange == exchange]
        self._send("step", exchange)
        return (mine or held or [None])[0]

    def continue_exchange(self, exchange: int) -> int:
        """Let ``exchange`` run to its end unheld; how many were released."""
        self._send("continue_exchange", exchange)
        return sum(1 for h in self.held() if h.exchange == exchange)

    def continue_all(self) -> int:
        """Stop stepping and release everything held; how many were."""
        self.stepping = False
        self._send("continue_all")
        return len(self.held())

    def set_stepping(self, on: bool) -> None:
        """Turn step mode on or off."""
        with self._lock:
            self.stepping = on
            self.version += 1
        self._send("set_stepping", on)

    def set_breakpoint(self, matcher: Any) -> None:
        """Hold only exchanges ``matcher`` keeps (a parsed filter; None: all): its
        text crosses, the app process parses it again; :attr:`breakpoint` says so
        once the app process does."""
        self._send("set_breakpoint", getattr(matcher, "text", "") if matcher else "")

    def edit(self, number: int, message: dict[str, Any]) -> bool:
        """Let the held message ``number`` go as ``message`` (see
        :meth:`~asgi_scope.trace.step.Gate.edit`); False if it is not held."""
        self._send("edit", number, message)
        return any(h.number == number for h in self.held())

    def drop(self, number: int) -> bool:
        """Drop the held WebSocket message ``number`` (see
        :meth:`~asgi_scope.trace.step.Gate.drop`); False if it is not held."""
        self._send("drop", number)
        return any(h.number == number for h in self.held())

    def compose(self, exchange: int, message: dict[str, Any]) -> bool:
        """Give the app of the WebSocket ``exchange`` a message the user composed
        (see :meth:`~asgi_scope.trace.step.Gate.compose`): a command; the app
        process notes it if that WebSocket is closed by then."""
        self._send("compose", exchange, message)
        return True


class Supervisor:
    """The event source that runs the app in app processes (see the module doc).

    ``spec`` holds what every app process gets (besides the socket, the channel
    and the ids): ``gate``, ``step``, ``break``. ``reload`` turns on watching.
    """

    def __init__(
        self,
        config: Config,
        recorder: RelayRecorder,
        *,
        gate: bool = False,
        step: bool = False,
        break_: str | None = None,
        reload: Watch | None = None,
    ) -> None:
        self.config = config
        self.recorder = recorder
        self.reload = reload
        self.died: str | None = None
        """How the app process ended when it was not asked to (None: it was not)."""
        self._spec: dict[str, Any] = {
            "config": dataclasses.asdict(config),
            "t0_ns": recorder.t0_ns,
            "gate": gate,
            "step": step,
            "break": break_,
        }
        self.gate: RemoteGate | None = None
        if gate:
            self.gate = recorder.gate = RemoteGate(self, step or bool(break_), bool(break_))
        self.hidden = HIDDEN_BELOW.get(config.log_level, frozenset())
        """The note levels ``--log-level`` drops."""
        self.env: dict[str, str] = {}
        """Variables added to each app process's environment (``--env-file``)."""
        self.sock: socket.socket | None = None
        self.port = config.port
        self.current: AppProcess | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self._exit: asyncio.Event | None = None
        self._force = False
        self._ids = (1, 1)
        self._children: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        """The URL to open, with the bound port (``unix:PATH`` for a Unix socket)."""
        return url_of(self.config, self.port, self.sock)

    # -- from the app processes ------------------------------------------------

    def note(self, level: str, text: str, exchange: int = 0) -> None:
        """Record a note of the inspector's own (unless ``--log-level`` hides it);
        ``exchange`` as :class:`~asgi_scope.trace.events.ServerNote` has it."""
        if level not in self.hidden:
            self.recorder.record(ServerNote, conn=0, level=level, text=text, exchange=exchange)

    def output(self, line: str, exchange: int = 0) -> None:
        """One line of an app process's stdout or stderr, as an output note, stamped
        with ``exchange`` (the one running when it was written; 0: none or several)."""
        line = line.rstrip("\r")
        if line.strip():
            self.note("output", line[:MAX_OUTPUT_LINE], exchange)

    def gate_update(self, child: AppProcess, value: Any) -> None:
        """A ``"held"`` frame of ``child``: mirror it, if it is the serving one."""
        if self.gate is None or child is not self.current:
            return
        held_rows, state = value
        held = [Held(*row) for row in held_rows]
        self.gate.update(held, bool(state["stepping"]), bool(state["breakpoint"]))

    def gate_command(self, method: str, args: tuple[Any, ...]) -> None:
        """Send a gate command to the serving app process (on the loop)."""
        if self.current is not None:
            self.current.command("gate", (method, args))

    def call_soon(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` on the supervisor's loop (from any thread)."""
        loop = self.loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(callback)

    # -- serving ---------------------------------------------------------------

    async def serve(
        self, *, handle_signals: bool = True, ready: Callable[[], None] | None = None
    ) -> None:
        """Bind, start the first app process, call ``ready()`` once it serves, and
        supervise until :meth:`stop` (or, without ``--reload``, until the app process
        dies). Raises :class:`StartupError` (:class:`AppStartError` with the
        traceback) if it cannot start."""
        self.loop = loop = asyncio.get_running_loop()
        self._exit = asyncio.Event()
        if self.config.env_file:
            self.env = _env_file(self.config.env_file)
        self.sock = bind(self.config)
        if self.sock.family != socket.AF_UNIX:
            self.port = self.sock.getsockname()[1]
        try:
            child = await self._spawn()
            failed = await self._started(child)
            if failed is not None:
                await child.wait()
                raise AppStartError(*failed)
            if handle_signals and threading.current_thread() is threading.main_thread():
                for sig in (signal.SIGINT, signal.SIGTERM):
                    with contextlib.suppress(NotImplementedError, RuntimeError):
                        loop.add_signal_handler(sig, self.stop)
            if ready is not None:
                ready()
            watcher = loop.create_task(self._watch()) if self.reload is not None else None
            try:
                await self._exit.wait()
            finally:
                if watcher is not None:
                    watcher.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await watcher
                await self._shutdown()
        finally:
            self.sock.close()

    async def _spawn(self) -> AppProcess:
        child = AppProcess(self)
        spec = {**self._spec, "conn": self._ids[0], "exchange": self._ids[1]}
        if self.gate is not None:
            spec["step"] = self.gate.stepping
        assert self.sock is not None
        await child.start(spec, self.sock)
        self.current = child
        task = asyncio.get_running_loop().create_task(self._watch_child(child))
        self._children.add(task)
        task.add_done_callback(self._children.discard)
        return child

    async def _started(self, child: AppProcess) -> tuple[str, str] | None:
        """Wait until ``child`` serves (None) or failed: (message, traceback)."""
        assert child.proc is not None
        ended = asyncio.ensure_future(child.proc.wait())
        try:
            await asyncio.wait([child.ready, ended], return_when=asyncio.FIRST_COMPLETED)
        finally:
            ended.cancel()
        if child.ready.done():
            return child.ready.result()
        await child.wait()  # what it wrote before it ended
        if child.ready.done():
            return child.ready.result()
        assert child.proc.returncode is not None
        return (f"the app process ended before serving ({exit_status(child.proc.returncode)})", "")

    async def _watch_child(self, child: AppProcess) -> None:
        code = await child.wait()
        how = exit_status(code)
        if child.stopping and code == 0:
            return
        if not child.ready.done() or child.ready.result() is not None:
            return  # a failed start: told by whoever started it
        child.abort(how)
        if child.stopping:
            self.note("warning", f"app process {child.pid} was stopped ({how})")
            return
        self.died = how
        self._ids = max(self._ids[0], child.max_ids[0] + 1), max(self._ids[1], child.max_ids[1] + 1)
        self.note("error", f"the app process (pid {child.pid}) ended: {how}")
        if child is self.current:
            self.current = None
            if self.reload is None and self._exit is not None:
                self._exit.set()
            else:
                self.note("info", "waiting for a change to start the app again")

    async def _stop_child(self, child: AppProcess, force: bool) -> None:
        """Stop ``child`` gracefully (bounded by the graceful timeout, then killed)."""
        child.stopping = True
        child.command("stop", force)
        timeout = self.config.timeout_graceful_shutdown
        bound = None if timeout is None else timeout + KILL_MARGIN
        assert child.proc is not None
        try:
            await asyncio.wait_for(asyncio.shield(child.proc.wait()), 0.5 if force else bound)
        except asyncio.TimeoutError:
            child.kill()

    async def _shutdown(self) -> None:
        child, self.current = self.current, None
        if child is not None:
            await self._stop_child(child, self._force)
        if self._children:
            await asyncio.wait(list(self._children), timeout=KILL_MARGIN)

    def stop(self, force: bool = False) -> None:
        """Stop gracefully (again, or ``force``: now). Thread-safe."""

        def _stop() -> None:
            if self._exit is None:
                return
            if self._exit.is_set() or force:
                self._force = True
                if self.current is not None:
                    self.current.command("stop", True)
            self._exit.set()

        self.call_soon(_stop)

    # -- reload ----------------------------------------------------------------

    async def _watch(self) -> None:
        from asgi_scope.server.reload import changes  # imports watchfiles

        assert self.reload is not None
        async for changed in changes(self.reload):
            await self.restart(changed)

    async def restart(self, changed: str) -> None:
        """Start a new app process after ``changed`` changed; stop the old one."""
        started = time.monotonic()
        old, self.current = self.current, None
        if old is not None:
            old.stopping = True
            old.command("stop", False)
            try:
                self._ids = await asyncio.wait_for(asyncio.shield(old.draining), 1.0)
            except asyncio.TimeoutError:  # a blocked loop: it will be killed
                self._ids = (old.max_ids[0] + 1, old.max_ids[1] + 1)
                old.kill()
            stopping = asyncio.get_running_loop().create_task(self._stop_child(old, False))
            self._children.add(stopping)
            stopping.add_done_callback(self._children.discard)
        first = self._ids[1]  # the new process's first exchange: the reload's row goes before it
        child = await self._spawn()
        failed = await self._started(child)
        if failed is not None:
            self.current = None
            message, details = failed
            for line in details.splitlines():
                self.output(line)
            self.note("error", f"reload after {changed} changed failed: {message}")
            self.note("info", "waiting for a change to start the app again")
            return
        self.died = None
        took = (time.monotonic() - started) * 1000
        self.note("reload", f"↻ reloaded: {changed} changed (serving after {took:.0f} ms)", first)
