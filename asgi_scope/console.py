"""Headless mode: the trace as one line per event, for terminals and scripts.

Lines are Rich ``Text`` built from plain strings (never markup), styled on a
terminal and plain when piped. Every untrusted part goes through the shared
summaries of :mod:`asgi_scope.trace.summary`, which escape control characters.

Line shape: ``seconds  conn/exchange  what``::

    1.2345  c1 #2  server → app  http.request body=5 B "hello" more_body=False
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import IO

from rich.console import Console
from rich.text import Text

from asgi_scope.trace import summary
from asgi_scope.trace.events import (
    AppRaised,
    BytesReceived,
    BytesSent,
    ConnectionClosed,
    ConnectionOpened,
    ConnectionOrigin,
    Event,
    ExchangeEnded,
    MessageReceived,
    MessageSent,
    ProtocolError,
    ProxyTimings,
    ScopeCreated,
    ServerNote,
    SpecViolation,
    UpstreamBytes,
    WebSocketFrame,
)
from asgi_scope.trace.explain import explain
from asgi_scope.trace.recorder import Recorder
from asgi_scope.trace.safe import safe_text

DRAIN_INTERVAL = 1 / 30
"""Seconds between two drains of the recorder (about 30 Hz)."""

_NOTE_STYLES = {
    "info": "cyan",
    "warning": "bold yellow",
    "error": "bold red",
    "explain": "dim italic",  # --explain's words (trace/explain.py)
}


def _safe(value: object) -> str:
    """``value`` (a field read from a capture file or an attach stream, so any
    type and any text) as safe display text."""
    return safe_text(str(value))


def _address(addr: tuple[str, int] | None) -> str:
    return f"{_safe(addr[0])}:{_safe(addr[1])}" if addr else "?"


class Printer:
    """Prints events as lines on ``file`` (default stdout).

    ``color`` None lets Rich decide (styled on a terminal, plain when piped).
    Plain output skips Rich: each batch becomes one string, written at once, so
    a trace piped to a file keeps up with the server (Rich renders line by line).
    """

    def __init__(
        self, file: IO[str] | None = None, color: bool | None = None, explain: bool = False
    ) -> None:
        self.explain = explain
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
        self.plain = color is not True and not self.console.is_terminal
        """True when lines are written as plain text, without Rich."""

    def print(self, events: list[Event]) -> None:
        """Print one line per event (a few events print more, e.g. tracebacks);
        with ``explain``, each line is followed by what its event means."""
        if self.plain:
            lines = []
            for event in events:
                line = self.plain_line(event)
                if line is not None:
                    lines.append(line)
                    if self.explain and not isinstance(event, ServerNote):
                        lines.append(self.plain_line(_explanation(event)) or "")
            if lines:
                lines.append("")
                file = self.console.file
                file.write("\n".join(lines))
                file.flush()
            return
        for event in events:
            line = self.line(event)
            if line is not None:
                self.console.print(line)
                if self.explain and not isinstance(event, ServerNote):
                    self.console.print(self.line(_explanation(event)))

    def line(self, event: Event) -> Text | None:
        """The line for ``event``, or None for events with nothing to say."""
        exchange = getattr(event, "exchange", 0)
        who = _who(event, exchange)
        text = Text(f"{event.t_ns / 1e9:10.4f}  ", style="dim")
        text.append(f"{who:<10} ", style="blue")
        body = self._describe(event, exchange)
        if body is None:
            return None
        for part, style in body:
            text.append(part, style=style)
        return text

    def plain_line(self, event: Event) -> str | None:
        """The line for ``event`` as plain text (what :meth:`line` shows, unstyled)."""
        exchange = getattr(event, "exchange", 0)
        body = self._describe(event, exchange)
        if body is None:
            return None
        parts = [f"{event.t_ns / 1e9:10.4f}  {_who(event, exchange):<10} "]
        parts.extend(part for part, _ in body)
        return "".join(parts)

    @staticmethod
    def _message(message: object, dropped: int) -> list[tuple[str, str]]:
        line = summary.message_summary(message, dropped)
        return [(summary.message_type(message), "bold"), (f"  {line}" if line else "", "")]

    def _describe(self, event: Event, exchange: int) -> list[tuple[str, str]] | None:
        if isinstance(event, ConnectionOpened):
            return [(f"connected from {_address(event.client)}", "green")]
        if isinstance(event, ConnectionClosed):
            return [(f"closed by {_safe(event.by)} ({safe_text(event.reason)})", "green")]
        if isinstance(event, ConnectionOrigin):
            raw = "" if event.raw else ", no raw bytes"
            return [
                (f"recorded by the {safe_text(event.source)} in pid {_safe(event.pid)}{raw}", "dim")
            ]
        if isinstance(event, BytesReceived):
            return [
                (f"⇠ {summary.fmt_bytes(event.size)} received ", "dim"),
                (summary.preview(event.data), ""),
            ]
        if isinstance(event, BytesSent):
            return [
                (f"⇢ {summary.fmt_bytes(event.size)} sent ", "dim"),
                (summary.preview(event.data), ""),
            ]
        if isinstance(event, ScopeCreated):
            self._starts[exchange] = event.t_ns
            return [("scope ", "bold"), (summary.scope_summary(event.scope), "bold")]
        if isinstance(event, MessageReceived):
            return [("server → app  ", "magenta"), *self._message(event.message, event.dropped)]
        if isinstance(event, MessageSent):
            return [("server ← app  ", "yellow"), *self._message(event.message, event.dropped)]
        if isinstance(event, AppRaised):
            return [
                (
                    f"app raised {safe_text(event.exc_type)}: {safe_text(event.message)}\n",
                    "bold red",
                ),
                (safe_text(event.traceback.rstrip(), keep_newlines=True), "red"),
            ]
        if isinstance(event, ProtocolError):
            answer = f"answered {_safe(event.status)}" if event.status else "connection closed"
            return [
                (
                    f"protocol error by the {_safe(event.by)}: "
                    f"{safe_text(event.detail)} ({answer})",
                    "bold red",
                )
            ]
        if isinstance(event, ExchangeEnded):
            start = self._starts.pop(exchange, event.t_ns)
            took = summary.fmt_duration(event.t_ns - start)
            status = f" {_safe(event.status)}" if event.status else ""
            return [
                (
                    f"{_safe(event.outcome)}{status} in {took}",
                    "bold green" if event.outcome == "complete" else "bold red",
                )
            ]
        if isinstance(event, WebSocketFrame):
            arrow = "⇠ frame received " if event.direction == "in" else "⇢ frame sent "
            text = summary.frame_summary(
                event.opcode, event.fin, event.length, event.payload, event.complete
            )
            return [(arrow, "dim"), (text, "")]
        if isinstance(event, ServerNote):
            return [(safe_text(event.text), _NOTE_STYLES.get(event.level, ""))]
        if isinstance(event, UpstreamBytes):
            verb = "⇉ upstream sent" if event.direction == "out" else "⇇ upstream received"
            return [
                (f"{verb} {summary.fmt_bytes(event.size)} ", "dim cyan"),
                (summary.preview(event.data), ""),
            ]
        if isinstance(event, ProxyTimings):
            return [(summary.proxy_timings(event), "bold red" if event.error else "cyan")]
        if isinstance(event, SpecViolation):
            return [
                (f"⚠ spec violation {safe_text(event.rule)}: ", "bold yellow"),
                (safe_text(event.detail), "yellow"),
                (f"  ({safe_text(event.section)})", "dim"),
            ]
        return None


def _explanation(event: Event) -> ServerNote:
    """What ``event`` means (trace/explain.py), as a note printed under its line."""
    words = explain(event)
    return ServerNote(0, event.t_ns, event.conn, "explain", f"↳ {words.text} ({words.section})")


def _who(event: Event, exchange: int) -> str:
    """The line's second column: ``c3 #7`` (connection, exchange), ``server``, or
    nothing for an explanation, which reads as part of the line above it."""
    if type(event) is ServerNote and event.level == "explain":
        return ""
    who = f"c{event.conn}" if event.conn else "server"
    return f"{who} #{exchange}" if exchange else who


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
    """While the ``async with`` block runs, drain ``recorder`` into ``printer``
    about 30 times a second; on the way out, print what is left."""

    async def drain_forever() -> None:
        try:
            while True:
                await asyncio.sleep(DRAIN_INTERVAL)
                printer.print(recorder.drain())
        finally:
            printer.print(recorder.drain())

    task = asyncio.get_running_loop().create_task(drain_forever())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
