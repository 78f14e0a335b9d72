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

from asgi_scope.trace import present
from asgi_scope.trace.events import Event
from asgi_scope.trace.layer_changes import Change, ChangeTracker
from asgi_scope.trace.recorder import Recorder

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

    def line(self, event: Event) -> Text | None:
        """The line for ``event``, or None for events with nothing to say."""
        parts = present.of(event).line(event, self._starts)
        return None if parts is None else _styled(event.t_ns, _who(event), parts)

    def plain_line(self, event: Event) -> str | None:
        """The line for ``event`` as plain text (what :meth:`line` shows, unstyled)."""
        parts = present.of(event).line(event, self._starts)
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
    """The line's second column: ``c3 #7`` (connection, exchange) or ``server``."""
    exchange = getattr(event, "exchange", 0)
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
