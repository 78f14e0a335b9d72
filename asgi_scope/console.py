"""Headless mode: the trace as one line per event (or, ``--format access``, one
line per exchange), for terminals and scripts; ``--filter`` keeps only the
exchanges a filter expression matches.

Lines are Rich ``Text`` built from plain strings (never markup), styled on a
terminal and plain when piped. Every untrusted part goes through the shared
summaries of :mod:`asgi_scope.trace.summary`, which escape control characters.

Line shape: ``seconds  conn/exchange  what``::

    1.2345  c1 #2  server → app  http.request body=5 B "hello" more_body=False
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import sys
import threading
from collections.abc import AsyncIterator
from typing import IO

from rich.console import Console
from rich.text import Text

from asgi_scope.export.redact import DEFAULT, Redactor
from asgi_scope.trace import present
from asgi_scope.trace.backlog import Backlog
from asgi_scope.trace.events import (
    BytesReceived,
    BytesSent,
    Event,
    ExchangeEnded,
    ServerNote,
    UpstreamBytes,
)
from asgi_scope.trace.filter import Filter, parse
from asgi_scope.trace.layer_changes import Change, ChangeTracker, answered_by
from asgi_scope.trace.recorder import Recorder
from asgi_scope.trace.safe import safe_text
from asgi_scope.trace.store import Exchange, Store
from asgi_scope.trace.summary import PREVIEW, fmt_bytes, fmt_duration

RAW = (BytesReceived, BytesSent, UpstreamBytes)
"""Events whose line previews raw bytes: redacted before they are printed."""

FORMATS = ("events", "access")
"""The headless formats: a line per event, or a line per exchange."""

HELD = 1000
"""Exchanges a filtered or access-log printer holds until they end (the oldest
go past that, as the store's cap drops them)."""

DRAIN_INTERVAL = 1 / 30
"""Seconds between two drains of the recorder (about 30 Hz)."""

_STYLES = {
    "conn": "green",
    "dim": "dim",
    "strong": "bold",
    "in": "magenta",
    "out": "yellow",
    "ok": "bold green",
    "error": "bold red",
    "error.detail": "red",
    "info": "cyan",
    "warning": "bold yellow",
    "warning.detail": "yellow",
    "upstream": "dim cyan",
    "explain": "dim italic",  # --explain's words
}
"""The Rich style of each style name of :mod:`asgi_scope.trace.present`."""


class Printer:
    """Prints events as lines on ``file`` (default stdout).

    ``color`` None lets Rich decide (styled on a terminal, plain when piped).
    Plain output skips Rich: each batch becomes one string, written at once, so
    a trace piped to a file keeps up with the server (Rich renders line by line).
    Raw bytes are previewed through ``redact`` (a log outlives the live view).
    """

    def __init__(
        self,
        file: IO[str] | None = None,
        color: bool | None = None,
        explain: bool = False,
        redact: Redactor = DEFAULT,
    ) -> None:
        self.explain = explain
        self.redact = redact
        """``--explain``: each line is followed by what the event means (trace/explain.py)."""
        self.console = Console(
            file=file,
            highlight=False,
            soft_wrap=True,
            emoji=False,
            markup=False,
            no_color=color is False,
            force_terminal=color,
        )
        self._starts: dict[int, int] = {}
        self._changes = ChangeTracker()  # what each middleware layer changed, per exchange
        self.plain = color is not True and not self.console.is_terminal
        """True when lines are written as plain text, without Rich."""

    def print(self, events: list[Event]) -> None:
        """Print one line per event (a few events print more, e.g. tracebacks);
        with ``explain``, each line is followed by what its event means."""
        if self.plain:
            lines = []
            for event in events:
                for change in self._changes.feed(event):
                    lines.append(_plain(event.t_ns, _who(event), [_change(change)]))
                line = self.plain_line(event)
                if line is not None:
                    lines.append(line)
                    if self.explain and not present.of(event).note:
                        lines.append(_plain(event.t_ns, "", [_explanation(event)]))
            if lines:
                lines.append("")
                file = self.console.file
                file.write("\n".join(lines))
                file.flush()
            return
        for event in events:
            for change in self._changes.feed(event):
                self.console.print(_styled(event.t_ns, _who(event), [_change(change)]))
            line = self.line(event)
            if line is not None:
                self.console.print(line)
                if self.explain and not present.of(event).note:
                    self.console.print(_styled(event.t_ns, "", [_explanation(event)]))

    def _parts(self, event: Event) -> list[present.Part] | None:
        if isinstance(event, RAW):
            # Enough bytes for the preview however much redaction shortens them.
            shown = self.redact.head(event.data[: 64 * PREVIEW], limit=PREVIEW)
            event = dataclasses.replace(event, data=shown + event.data[64 * PREVIEW :][:1])
        return present.of(event).line(event, self._starts)

    def line(self, event: Event) -> Text | None:
        """The line for ``event``, or None for events with nothing to say."""
        parts = self._parts(event)
        return None if parts is None else _styled(event.t_ns, _who(event), parts)

    def plain_line(self, event: Event) -> str | None:
        """The line for ``event`` as plain text (what :meth:`line` shows, unstyled)."""
        parts = self._parts(event)
        return None if parts is None else _plain(event.t_ns, _who(event), parts)


def _styled(t_ns: int, who: str, parts: list[present.Part]) -> Text:
    text = Text(f"{t_ns / 1e9:10.4f}  ", style="dim")
    text.append(f"{who:<10} ", style="blue")
    for part, style in parts:
        text.append(part, style=_STYLES.get(style, ""))
    return text


def _plain(t_ns: int, who: str, parts: list[present.Part]) -> str:
    return "".join([f"{t_ns / 1e9:10.4f}  {who:<10} ", *(part for part, _ in parts)])


def _change(change: Change) -> present.Part:
    """A layer's change as a line of its own: ``CORSMiddleware added header …``."""
    return change.line, "info"


def _explanation(event: Event) -> present.Part:
    """What ``event`` means (its presenter's words), printed under its line, in a
    line of its own with no ids: it reads as part of the line above."""
    words = present.explain(event)
    return f"↳ {words.text} ({words.section})", "explain"


def _who(event: Event) -> str:
    """The line's second column: ``c3 #7`` (connection, exchange), ``server``
    (``server #7`` for the app's output written while exchange 7 ran), or
    ``reload``."""
    if type(event) is ServerNote and event.level == "reload":  # its exchange places its row
        return "reload"
    exchange = getattr(event, "exchange", 0)
    who = f"c{event.conn}" if event.conn else "server"
    return f"{who} #{exchange}" if exchange else who


def access_line(exchange: Exchange, redact: Redactor = DEFAULT) -> str:
    """One access-log line for an ended ``exchange``, as uvicorn's and the common
    log format's habits have it: client, the request line, status, duration,
    bytes sent, the outcome when it is not ``done``, and the middleware layer that
    answered when not the endpoint (layers traced); secret query parameters go
    through ``redact``::

        127.0.0.1:50432 - "GET /json?x=1 HTTP/1.1" 200 1.5 ms 774 B
        127.0.0.1:50433 - "OPTIONS /json HTTP/1.1" 200 0.9 ms 2 B answered by CORSMiddleware
    """
    scope = exchange.scope or {}
    client = scope.get("client")
    who = f"{client[0]}:{client[1]}" if isinstance(client, (list, tuple)) and client else "-"
    method = exchange.method or ("WS" if exchange.kind == "websocket" else "-")
    query = scope.get("query_string")
    target = exchange.path + (
        f"?{redact.query(query).decode('latin-1')}" if isinstance(query, bytes) and query else ""
    )
    version = scope.get("http_version", "1.1")
    status = exchange.status if exchange.status else "-"
    took = fmt_duration(exchange.duration_ns) if exchange.duration_ns is not None else "-"
    sent = fmt_bytes(exchange.bytes_out)
    line = f'{who} - "{method} {target} HTTP/{version}" {status} {took} {sent}'
    if exchange.state != "done":
        line += f" {exchange.state}"
    answered = answered_by(exchange)
    if answered:
        line += f" answered by {answered}"
    return safe_text(line)


class ExchangePrinter:
    """Prints what :class:`Printer` prints, but exchange by exchange: each
    exchange's lines once it ended, and only if ``keep`` matches it (a
    :class:`~asgi_scope.trace.filter.Filter`; None keeps all); with ``access``,
    one :func:`access_line` per exchange instead. The server's own notes print
    as they come (connection lines belong to no exchange and are left out): in
    the events format as lines, beside the access log on stderr. The access log
    lists no lifespan.
    """

    def __init__(self, printer: Printer, keep: Filter | None, access: bool) -> None:
        self.printer = printer
        self.keep = keep
        self.access = access
        self.store = Store(keep=HELD)

    def print(self, events: list[Event]) -> None:
        """Index ``events``; print the exchanges that ended among them."""
        store = self.store
        store.add(events)
        out: list[Event] = []
        for event in events:
            exchange_id = getattr(event, "exchange", 0)
            if not exchange_id:
                if isinstance(event, ServerNote) and self.access:
                    self._note(event)
                elif not event.conn and not self.access:  # the server's own notes
                    out.append(event)
                continue
            if not isinstance(event, ExchangeEnded):
                continue
            exchange = store.exchanges.get(exchange_id)
            if exchange is None or exchange.kind == "lifespan":
                continue
            if self.keep is None or self.keep(exchange):
                if self.access:
                    self._write(access_line(exchange, self.printer.redact))
                else:
                    out.extend(exchange.events)
        if out:
            self.printer.print(out)

    def _note(self, note: ServerNote) -> None:
        """A server note beside an access log goes to stderr, as servers log
        (``asgi-scope: info: listening on …``): stdout stays one line per exchange."""
        print(f"asgi-scope: {safe_text(note.level)}: {safe_text(note.text)}", file=sys.stderr)

    def _write(self, line: str) -> None:
        if self.printer.plain:
            self.printer.console.file.write(line + "\n")
            self.printer.console.file.flush()
        else:
            self.printer.console.print(Text(line))


def headless_printer(
    format_: str = "events", keep: str = "", explain: bool = False, redact: Redactor = DEFAULT
) -> Printer | ExchangePrinter:
    """The printer of a headless session: ``format_`` one of :data:`FORMATS`,
    ``keep`` a filter expression (empty: every exchange), ``redact`` what raw bytes
    and access-log targets go through. Raises
    :class:`~asgi_scope.trace.filter.FilterError` for a filter that does not parse."""
    printer = Printer(explain=explain, redact=redact)
    flt = parse(keep)
    if format_ == "events" and flt is None:
        return printer
    return ExchangePrinter(printer, flt, access=format_ == "access")


class Tally:
    """``--quiet``: counts what was recorded and prints nothing per event (a
    stand-in for :class:`Printer` in :func:`printing`).

    Nothing is kept: with no view, nobody could read it. The events still reach
    the recorder's taps first (``--record``'s capture writer, ``--strict``).
    """

    def __init__(self) -> None:
        self.events = 0
        self.exchanges = 0
        """The highest exchange id seen: the server numbers exchanges from 1."""

    def print(self, events: list[Event]) -> None:
        """Count ``events``."""
        self.events += len(events)
        newest = max((getattr(e, "exchange", 0) for e in events), default=0)
        self.exchanges = max(self.exchanges, newest)

    def summary(self) -> str:
        """One line for the end of the session: what was recorded."""
        return f"recorded {self.exchanges} exchanges ({self.events} events)"


@contextlib.asynccontextmanager
async def printing(recorder: Recorder, printer: Printer | Tally) -> AsyncIterator[None]:
    """While the ``async with`` block runs, drain ``recorder`` about 30 times a
    second into a :class:`~asgi_scope.trace.backlog.Backlog` that a thread of
    its own prints; on the way out, print what is left.

    A terminal or a pipe slower than the server (or one nobody reads) never
    holds the loop up: past the backlog's bound, events are dropped and one line
    says how many, where they were."""
    backlog = Backlog("the printer")

    def print_forever() -> None:
        while (batch := backlog.get()) is not None:
            printer.print(list(batch))

    thread = threading.Thread(target=print_forever, name="asgi-scope-printer", daemon=True)
    thread.start()

    async def drain_forever() -> None:
        try:
            while True:
                await asyncio.sleep(DRAIN_INTERVAL)
                backlog.put(recorder.drain())
        finally:
            backlog.put(recorder.drain())

    task = asyncio.get_running_loop().create_task(drain_forever())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        backlog.close()
        await asyncio.to_thread(thread.join)
