"""The app process: the user's app and our server on one loop, recording into the
channel to the inspector (``python -m asgi_scope.server.worker SPEC``).

The inspector (:mod:`asgi_scope.server.supervisor`) starts this module with the
listening socket and one end of a Unix socket pair passed as file descriptors,
and ``SPEC``, a JSON object: ``config`` (the :class:`~asgi_scope.config.Config`
fields), ``t0_ns`` (the inspector's clock at ``t_ns`` 0), ``listen_fd``,
``channel_fd``, ``conn`` and ``exchange`` (the first ids to hand out: they
continue the previous app process's), ``gate`` (whether step mode may be
used), ``step`` and ``break`` (the ``--step``/``--break`` flags).

**Nothing recorded is lost.** Events are written to the channel (frames of
:mod:`asgi_scope.trace.channel`) at two moments, so that whatever the app does
next (``os._exit``, a segfault) it cannot take them with it: at each turn of
the event loop, before it waits for I/O (:class:`_FlushingSelector`), and in the
shim, just before control goes back to the app after a message crossed
(:attr:`~asgi_scope.trace.recorder.Recorder.handoff`). A write blocks while the
inspector is behind (back-pressure, never loss).

Frames to the inspector: ``("ready", None)`` once listening; ``("failed",
text)`` if the app cannot be loaded or the server cannot start (then exit 3);
``("events", batch)``; ``("held", [...])`` step mode's held messages when they
change; ``("draining", (conn, exchange))`` at shutdown once no new id can be
taken, with the next free ids. Commands from the inspector: ``("stop",
force)`` and ``("gate", (method, args))``. The channel's end (the inspector is
gone) stops the server at once.
"""

from __future__ import annotations

import asyncio
import json
import os
import selectors
import signal
import socket
import sys
import traceback
from typing import Any

from asgi_scope.config import Config
from asgi_scope.importer import AppLoadError, load_app
from asgi_scope.server.output import StampedStream
from asgi_scope.server.runner import Server, StartupError
from asgi_scope.trace.channel import ChannelError, FrameReader, events_frame, frame
from asgi_scope.trace.events import ServerNote
from asgi_scope.trace.layers import NoLayersError, wrap_layers
from asgi_scope.trace.recorder import Recorder

GATE_COMMANDS = frozenset(
    {
        "step",
        "continue_exchange",
        "continue_all",
        "set_stepping",
        "set_breakpoint",
        "edit",
        "drop",
        "compose",
    }
)
"""The :class:`~asgi_scope.trace.step.Gate` methods the inspector may call."""


LATE_IDS = 10**9
"""How far above the next app process's ids a draining one numbers what comes late."""


class Link:
    """The app process's end of the channel: writes what ``recorder`` holds, reads
    commands. :meth:`flush` is cheap when nothing is queued (one ``len``)."""

    def __init__(self, sock: socket.socket, recorder: Recorder) -> None:
        self.sock = sock
        self.recorder = recorder
        self.server: Server | None = None
        self._pending = recorder._pending  # drained directly: no taps in this process
        self._reader = FrameReader()
        self._gate_version = -1
        self._scopes: dict[int, Any] = {}  # what events_frame keeps across frames

    def send(self, tag: str, data: Any) -> None:
        """Write one frame (what is recorded first). Exits if the inspector is gone."""
        self.flush()
        self._write(frame(tag, data))

    def flush(self) -> None:
        """Write every queued event (and what step mode holds, if that changed)."""
        pending = self._pending
        if pending:
            batch = list(pending)  # one thread records and flushes: the loop's
            pending.clear()
            data, lost = events_frame(batch, self._scopes)
            self._write(data)
            if lost:
                text = f"{lost} event(s) could not be sent to the inspector (unencodable values)"
                self.recorder.record(ServerNote, conn=0, level="warning", text=text)
        gate = self.recorder.gate
        if gate is not None and gate.version != self._gate_version:
            self._gate_version = gate.version
            held = [
                (h.number, h.conn, h.exchange, h.direction, h.message, h.since_ns, h.cut)
                for h in gate.held()
            ]
            state = {"stepping": gate.stepping, "breakpoint": gate.breakpoint is not None}
            self._write(frame("held", (held, state)))

    def _write(self, data: bytes) -> None:
        try:
            self.sock.sendall(data)
        except OSError:  # the inspector is gone: nobody to serve for
            os._exit(1)

    def readable(self) -> None:
        """The channel has bytes (a command) or ended (the inspector is gone)."""
        try:
            data = self.sock.recv(65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._stop(force=True)
            asyncio.get_running_loop().remove_reader(self.sock)
            return
        try:
            for tag, value in self._reader.feed(data):
                self._command(tag, value)
        except ChannelError:
            self._stop(force=True)

    def _command(self, tag: str, value: Any) -> None:
        if tag == "stop":
            self._stop(force=bool(value))
        elif tag == "gate" and self.recorder.gate is not None:
            method, args = value
            if method in GATE_COMMANDS:
                if method == "set_breakpoint":
                    args = (_breakpoint(args[0]),)
                getattr(self.recorder.gate, method)(*args)

    def running(self) -> int:
        """The exchange whose app is running, if it is the only one (else 0): the
        stamp of the app's output (server/output.py)."""
        server = self.server
        return server.state.sole_exchange() if server is not None else 0

    def _stop(self, force: bool) -> None:
        if self.server is not None:
            self.server.stop(force)

    def draining(self) -> None:
        """The server stopped taking new work: tell the inspector the next ids (the
        next app process's first), and number anything late (bytes pipelined on a
        connection still in flight) far above them, where no process counts."""
        assert self.server is not None
        state = self.server.state
        conn, exchange = state.peek_ids()
        state.count_from(conn + LATE_IDS, exchange + LATE_IDS)
        self.send("draining", (conn, exchange))


def _breakpoint(text: Any) -> Any:
    from asgi_scope.trace.filter import parse

    return parse(text) if isinstance(text, str) and text else None


class _FlushingSelector(selectors.DefaultSelector):  # type: ignore[misc,valid-type]
    """The loop's selector, writing the channel before each wait for I/O: once per
    turn of the loop, so events recorded in one turn leave before the next runs."""

    def __init__(self, link: Link) -> None:
        super().__init__()
        self._link = link

    def select(self, timeout: float | None = None) -> list[Any]:
        self._link.flush()
        return super().select(timeout)


def _gate(spec: dict[str, Any], recorder: Recorder) -> Any:
    from asgi_scope.trace.step import Gate

    gate = Gate(stepping=bool(spec.get("step")) or bool(spec.get("break")), now=recorder.now)
    if spec.get("break"):
        gate.set_breakpoint(_breakpoint(spec["break"]))
    return gate


def _user_traceback(exc: BaseException) -> str:
    """The traceback of an error raised in the user's module, without the frames
    of asgi-scope's importer and of importlib that led there."""
    tb = traceback.TracebackException.from_exception(exc)
    tb.stack = traceback.StackSummary.from_list(
        [f for f in tb.stack if "importlib" not in f.filename and "asgi_scope" not in f.filename]
    )
    return "".join(tb.format()).rstrip()


def run(spec: dict[str, Any]) -> int:
    """Load the app, serve it until told to stop; the process's exit code (0, or
    3 when it could not start)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the inspector says when to stop
    config = Config(**spec["config"])
    channel = socket.socket(fileno=spec["channel_fd"])
    channel.setblocking(True)
    recorder = Recorder(max_body=config.max_body, t0_ns=spec["t0_ns"])
    link = Link(channel, recorder)
    sys.stdout = StampedStream(sys.stdout, link.running)
    sys.stderr = StampedStream(sys.stderr, link.running)
    try:
        app = load_app(
            config.app, app_dir=config.app_dir, factory=config.factory, interface=config.interface
        )
    except AppLoadError as exc:
        link.send("failed", (str(exc), ""))
        return 3
    except BaseException as exc:  # raised inside the user's own module: theirs to see
        link.send(
            "failed",
            (f"error while importing {config.app!r} (traceback above)", _user_traceback(exc)),
        )
        return 3
    if config.layers is not False:
        try:
            app, _ = wrap_layers(app, required=bool(config.layers))
        except NoLayersError as exc:
            link.send("failed", (str(exc), ""))
            return 3
    sock = socket.socket(fileno=spec["listen_fd"])
    server = link.server = Server(config, app, recorder, sock=sock)
    server.state.count_from(spec["conn"], spec["exchange"])
    server.on_draining = link.draining
    if spec.get("gate"):
        recorder.gate = _gate(spec, recorder)
    recorder.handoff = link.flush
    loop = asyncio.SelectorEventLoop(_FlushingSelector(link))
    asyncio.set_event_loop(loop)
    loop.add_reader(channel, link.readable)
    code = 0
    try:
        loop.run_until_complete(
            server.serve(handle_signals=True, ready=lambda: link.send("ready", None))
        )
    except StartupError as exc:
        link.send("failed", (str(exc), ""))
        code = 3
    finally:
        link.flush()
        try:
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            loop.close()
    return code


def main() -> None:
    """The entry point: ``python -m asgi_scope.server.worker SPEC``."""
    code = run(json.loads(sys.argv[1]))
    sys.stdout.flush()
    sys.stderr.flush()
    sys.exit(code)


if __name__ == "__main__":
    main()
