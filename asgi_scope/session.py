"""The composition point: one event source, one view, the taps, run as a session.

Every command that shows a trace is the same three steps (as uvicorn's
``main.py`` is one ``Config``, one ``Server``, then run): build a
:class:`~asgi_scope.config.Config`, build an :class:`EventSource`, and
:meth:`Session.run` it. The session plugs in what reads the source's
recorder, in one place:

* the **view**: the TUI (the source on its own loop in a :class:`LoopThread`,
  the UI on the main thread), or headless (the source and the printer on one
  loop): :class:`~asgi_scope.console.Printer` a line per event, or
  :class:`~asgi_scope.console.Tally` a count for ``--quiet``;
* the **taps**, which see every drained batch in the view's thread: the
  capture writer (``--record``), the strict watch (``--strict``) and the
  OTLP exporter (``--otlp``).

Sources: our own server (:class:`~asgi_scope.server.runner.Server`, for
``run`` and ``proxy``) and the attach listener
(:class:`~asgi_scope.remote.attach.Listener`), with or without the OTLP
receiver (:class:`~asgi_scope.remote.otlp_listen.OtlpListener`) beside it
(:class:`Together`); a reopened capture (:class:`CaptureSource`), whose
events are all there at once.

Imports nothing heavy at import time: the views are imported when run.
"""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, Protocol

from asgi_scope.export.redact import DEFAULT, Redactor

if TYPE_CHECKING:
    from asgi_scope.console import ExchangePrinter, Printer, Tally
    from asgi_scope.export.otlp_http import OtlpExporter
    from asgi_scope.trace.capture import Capture, CaptureWriter, Header
    from asgi_scope.trace.recorder import Recorder
    from asgi_scope.trace.rules import Policy
    from asgi_scope.trace.spec import Strict

QUIT_AT_ONCE_TIMEOUT = 0.5
"""Seconds a second ``q`` waits for the server's thread (it closes its sockets)."""

View = Literal["tui", "headless", "quiet"]
"""How a session is shown: the inspector, a line per event, or a count at the end."""


class EventSource(Protocol):
    """Where a session's events come from: something that serves on an asyncio loop
    and records into :attr:`recorder` (whose ``drain``, ``now``, ``gate`` and
    ``max_body`` the views and the shim read).

    :meth:`serve` starts (raising the source's own one-line error if it cannot),
    calls ``ready()`` once it listens, and returns after :meth:`stop`;
    :meth:`stop` is thread-safe (again, or ``force``: at once).
    """

    recorder: Recorder

    @property
    def url(self) -> str:
        """Where it listens, for the header and the notes."""
        ...

    async def serve(
        self, *, handle_signals: bool = True, ready: Callable[[], None] | None = None
    ) -> None: ...

    def stop(self, force: bool = False) -> None: ...


class CaptureSource:
    """A finished capture as an event source: every event is queued at once
    (:class:`~asgi_scope.trace.capture.Playback`) and there is nothing to serve,
    so the TUI shows it with nothing to stop, and headless prints it and ends.
    ``url`` is where the capture was read from."""

    def __init__(self, capture: Capture, url: str) -> None:
        from asgi_scope.trace.capture import Playback

        self.recorder = Playback(capture)  # type: ignore[assignment]
        self.url = url

    async def serve(
        self, *, handle_signals: bool = True, ready: Callable[[], None] | None = None
    ) -> None:
        """Nothing to serve: ready at once, and done."""
        if ready is not None:
            ready()

    def stop(self, force: bool = False) -> None:
        """Nothing to stop."""


class Together:
    """Several event sources recording into one recorder (the first's), served
    on one loop: ``attach`` with ``--otlp-listen``. Ready once every one
    listens; when one stops (or fails to start: its error is raised), the
    others are stopped too. Only the first handles signals."""

    def __init__(self, *sources: EventSource) -> None:
        self.sources = sources
        self.recorder = sources[0].recorder

    @property
    def url(self) -> str:
        """Every source's address, joined by ``" + "``."""
        return " + ".join(source.url for source in self.sources)

    async def serve(
        self, *, handle_signals: bool = True, ready: Callable[[], None] | None = None
    ) -> None:
        """Serve every source until one stops; raise the first error any raised."""
        waiting = len(self.sources)

        def one_ready() -> None:
            nonlocal waiting
            waiting -= 1
            if waiting == 0 and ready is not None:
                ready()

        tasks = [
            asyncio.ensure_future(
                source.serve(handle_signals=handle_signals and i == 0, ready=one_ready)
            )
            for i, source in enumerate(self.sources)
        ]
        _, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:  # each source closes what it serves when cancelled
            task.cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException) and not isinstance(result, asyncio.CancelledError):
                raise result

    def stop(self, force: bool = False) -> None:
        """Stop every source (thread-safe, as each one's :meth:`stop` is)."""
        for source in self.sources:
            source.stop(force)


class LoopThread:
    """An :class:`EventSource` served on its own event loop in a daemon thread (for
    the TUI, which owns the main thread).

    :meth:`start` returns once the source listens, or raises the error that
    stopped it from starting; :meth:`stop` asks it to stop and joins the thread.
    """

    def __init__(self, source: EventSource, name: str = "asgi-scope-server") -> None:
        self.source = source
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    @property
    def url(self) -> str:
        """Where the source listens."""
        return self.source.url

    def start(self) -> None:
        """Start the thread; return once listening. Raises what the source raised."""
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            self._thread.join()
            raise self._error

    def stop(self, timeout: float | None = None, force: bool = False) -> None:
        """Stop the source (gracefully, or at once with ``force``) and wait for the
        thread at most ``timeout`` seconds (None: until it ends)."""
        self.source.stop(force)
        self._thread.join(timeout)

    def _run(self) -> None:
        try:
            asyncio.run(self.source.serve(handle_signals=False, ready=self._ready.set))
        except BaseException as exc:  # handed to the starting thread
            self._error = exc
        finally:
            self._ready.set()


@dataclass
class Session:
    """One source, one view, the taps: what a command runs.

    ``title`` names the source in the TUI's header; ``header`` is the capture
    header (``--record``, the UI's save). ``ready`` is called once the source
    listens, headless only (the TUI shows the URL itself). ``resend`` lets the
    TUI send requests again to the source's URL (our own server only).
    ``stop_timeout`` bounds, in seconds, the wait for the source's thread
    after the TUI quit. ``redact`` redacts what leaves the live view (exports,
    the headless raw-bytes preview).
    """

    source: EventSource
    title: str
    header: Header
    view: View = "tui"
    explain: bool = False
    format: str = "events"
    """Headless: a line per event (``events``) or per exchange (``access``)."""
    filter: str = ""
    """Headless: only the exchanges this filter expression matches (trace/filter.py)."""
    keep: int | None = None
    keep_bytes: int | None = None
    resend: bool = False
    ready: Callable[[], None] | None = None
    stop_timeout: float = 5.0
    redact: Redactor = DEFAULT
    writer: CaptureWriter | None = field(default=None, init=False)
    """The capture writer, once :meth:`record_to` was called."""
    strict: Strict | None = field(default=None, init=False)
    """The strict watch, once :meth:`watch_strictly` was called."""
    exporter: OtlpExporter | None = field(default=None, init=False)
    """The OTLP exporter, once :meth:`export_otlp` was called."""
    printer: Printer | ExchangePrinter | Tally | None = field(default=None, init=False)
    """The headless printer (a tally for ``--quiet``), once running headless."""

    @property
    def recorder(self) -> Recorder:
        return self.source.recorder

    def record_to(self, path: str) -> None:
        """Also write every event to ``path``, a capture. Raises ``OSError``."""
        from asgi_scope.trace.capture import CaptureWriter

        self.writer = CaptureWriter(path, self.header)
        self.recorder.taps.append(self.writer)

    def export_otlp(
        self, endpoint: str, note: Callable[[str], None], protocol: str = "http/protobuf"
    ) -> None:
        """Also send every exchange, as it ends, to the OpenTelemetry Collector at
        ``endpoint`` (OTLP/HTTP, :mod:`asgi_scope.export.otlp_http`, or OTLP/gRPC
        when ``protocol`` is ``"grpc"``), redacted by :attr:`redact`. ``note``
        gets one line at the first loss and a summary at the end. Needs
        ``opentelemetry-proto`` (and ``grpcio`` for gRPC); raises
        ``EndpointError`` for an ``endpoint`` that is not an http(s) URL."""
        from asgi_scope.export.otlp_http import OtlpExporter, Sender

        sender: Sender | None = None
        if protocol == "grpc":
            from asgi_scope.export.otlp_grpc import GrpcSender

            sender = GrpcSender(endpoint)
        self.exporter = OtlpExporter(
            endpoint, self.header.app, self.header.started_ns, self.redact, note, sender
        )
        self.recorder.taps.append(self.exporter)

    def mute(self, policy: Policy) -> None:
        """Drop the spec violations of the rules ``policy`` mutes (``--ignore``,
        ``[tool.asgi-scope]``) before any view or tap sees them."""
        from asgi_scope.trace.spec import Mute

        if policy.ignore:
            self.recorder.taps.insert(0, Mute(policy))

    def watch_strictly(
        self, loudly: Callable[[object], None] | None, policy: Policy | None = None
    ) -> Strict:
        """Count the spec violations that fail ``policy`` (default: errors) as they
        are drained (``--strict``); ``loudly`` is called with the first one."""
        from asgi_scope.trace.spec import Strict

        self.strict = Strict(loudly, policy)
        self.recorder.taps.append(self.strict)
        return self.strict

    def run(self) -> str | None:
        """Run the view until the user quits or the source stops; then close the
        taps. Raises what the source raised if it could not start. Returns the
        capture writer's error, if recording failed (None otherwise)."""
        try:
            if self.view == "tui":
                self._run_tui()
            else:
                self._run_headless()
        finally:
            # The session is over: a late Ctrl-C must not cut the recording short
            # (the writer's close is bounded) or turn a clean stop into "Aborted!".
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            if self.writer is not None or self.strict is not None or self.exporter is not None:
                self.recorder.drain()  # what the view's last drain missed, to the taps
            if self.writer is not None:
                self.writer.close()
            if self.exporter is not None:
                self.exporter.close()
        return self.writer.error if self.writer is not None else None

    def _run_headless(self) -> None:
        from asgi_scope.console import Tally, headless_printer, printing

        printer = self.printer = (
            Tally()
            if self.view == "quiet"
            else headless_printer(self.format, self.filter, self.explain, self.redact)
        )

        async def run() -> None:
            async with printing(self.recorder, printer):
                await self.source.serve(ready=self.ready)

        try:
            asyncio.run(run())
        except KeyboardInterrupt:  # a second Ctrl-C while shutting down
            pass
        finally:
            printer.print(self.recorder.drain())

    def _run_tui(self) -> None:
        from asgi_scope.ui.app import ScopeApp, logging_follows_stdio

        thread = LoopThread(self.source)
        thread.start()
        live = not isinstance(self.source, CaptureSource)
        ui = ScopeApp(
            self.recorder,
            app_name=self.title,
            url=thread.url,
            on_quit=thread.stop if live else None,
            header=self.header,
            resend_url=thread.url if self.resend else None,
            keep=self.keep,
            keep_bytes=self.keep_bytes,
            redact=self.redact,
        )
        ui.explaining = self.explain
        signal.signal(signal.SIGTERM, lambda *_: ui.exit())
        try:
            with logging_follows_stdio():
                ui.run()
        finally:
            # Quitting stopped the source gracefully, unless the user quit again at
            # once: then (not waiting for a loop the app may block), or after a
            # crash, stop it now.
            timeout = QUIT_AT_ONCE_TIMEOUT if ui.quit_at_once else self.stop_timeout
            thread.stop(timeout=timeout, force=True)
