"""The Timeline tab: a connection's exchanges, and one exchange's messages, on a time
axis; a reload of the app (``--reload``) while they ran is a ``↻`` mark at its time."""

from __future__ import annotations

from collections.abc import Sequence

from rich.style import Style
from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from asgi_scope.trace import present
from asgi_scope.trace.events import Event, ProxyTimings, ServerNote
from asgi_scope.trace.safe import safe_text
from asgi_scope.trace.store import Connection, Exchange
from asgi_scope.trace.summary import fmt_duration, proxy_timings

LABEL = 24
"""Widest label column, in cells."""


class Scale:
    """Maps ``t_ns`` between ``t0`` and ``t1`` onto ``width`` columns."""

    def __init__(self, t0: int, t1: int, width: int) -> None:
        self.t0, self.t1, self.width = t0, max(t1, t0 + 1), max(width, 2)

    def __call__(self, t_ns: int) -> int:
        """The column of ``t_ns`` (clamped to the axis)."""
        fraction = (t_ns - self.t0) / (self.t1 - self.t0)
        return min(max(round(fraction * (self.width - 1)), 0), self.width - 1)

    def axis(self) -> str:
        """A line of tick labels: start, middle, end (relative to ``t0``)."""
        span = self.t1 - self.t0
        left, mid, right = "0", fmt_duration(span // 2), fmt_duration(span)
        line = [" "] * self.width
        for column, label in (
            (0, left),
            (self.width // 2 - len(mid) // 2, mid),
            (self.width - len(right), right),
        ):
            for i, char in enumerate(label):
                if 0 <= column + i < self.width:
                    line[column + i] = char
        return "".join(line)


class TimelineView(VerticalScroll):
    """Two time axes: the connection's exchanges, then the selected exchange's messages."""

    COMPONENT_CLASSES = {
        "timeline--in",
        "timeline--out",
        "timeline--error",
        "timeline--dim",
        "timeline--bar",
        "timeline--selected",
        "timeline--title",
        "timeline--reload",
    }

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._data: tuple[Exchange | None, Connection | None, list[Exchange], int] = (
            None,
            None,
            [],
            0,
        )
        self._reloads: Sequence[ServerNote] = ()

    def compose(self):
        yield Static(id="timeline-text")

    def show(
        self,
        exchange: Exchange | None,
        connection: Connection | None,
        exchanges: list[Exchange],
        now_ns: int,
        reloads: Sequence[ServerNote] = (),
    ) -> None:
        """Draw ``exchanges`` of ``connection`` (``exchange`` selected) up to ``now_ns``,
        with the ``reloads`` (notes of level ``"reload"``) that fall on either axis."""
        self._data = (exchange, connection, exchanges, now_ns)
        self._reloads = reloads
        self._redraw()

    def on_resize(self) -> None:
        self._redraw()

    def _style(self, name: str) -> Style:
        return self.get_component_rich_style(f"timeline--{name}", partial=True)

    def _redraw(self) -> None:
        if self.is_mounted:
            self.query_one("#timeline-text", Static).update(self.render_timeline())

    def render_timeline(self) -> Text:
        """The whole timeline as safe ``Text``, sized to the current width."""
        exchange, connection, exchanges, now_ns = self._data
        if exchange is None:
            return Text("No exchange selected.", self._style("dim"))
        width = max((self.scrollable_content_region.width or 80) - 1, 30)
        label = min(LABEL, width // 3)
        text = Text(no_wrap=True, overflow="crop")
        # The connection, its exchanges side by side.
        if connection is not None:
            t0 = connection.t_open
            t1 = connection.t_close if connection.t_close is not None else now_ns
            if connection.t_close is None:
                closed = f"open for {fmt_duration(t1 - t0)}"
            else:
                by = safe_text(connection.closed_by)
                closed = f"closed by {by} after {fmt_duration(t1 - t0)}"
                if connection.reason and not connection.reason.startswith("closed by"):
                    closed += f" ({safe_text(connection.reason)})"
            peer = ":".join(map(str, connection.client)) if connection.client else "?"
            if connection.pid:  # attached from another process's stream
                source = safe_text(connection.source)
                closed += f"; recorded by the {source} in pid {connection.pid}"
            text.append(
                f"connection {connection.id} from {safe_text(peer)}, {closed}\n",
                self._style("title"),
            )
        else:
            t0 = exchange.t_start
            t1 = exchange.t_end if exchange.t_end is not None else now_ns
        scale = Scale(t0, t1, width - label - 1)
        text.append(" " * (label + 1) + scale.axis() + "\n", self._style("dim"))
        for item in exchanges or [exchange]:
            text.append_text(self._exchange_line(item, scale, label, item is exchange, now_ns))
        self._reload_lines(text, scale, label)
        # The selected exchange, one message per line.
        text.append("\n")
        t1 = exchange.t_end if exchange.t_end is not None else now_ns
        text.append(
            f"exchange {exchange.id}, {fmt_duration(t1 - exchange.t_start)}\n", self._style("title")
        )
        for event in exchange.events:
            if isinstance(event, ProxyTimings):  # asgi-scope proxy: where the time went
                style = self._style("error" if event.error else "dim")
                text.append(proxy_timings(event) + "\n", style)
        scale = Scale(exchange.t_start, t1, width - label - 1)
        text.append(" " * (label + 1) + scale.axis() + "\n", self._style("dim"))
        for event in exchange.events:
            if present.of(event).listed:
                text.append_text(self._event_line(event, exchange, scale, label))
        self._reload_lines(text, scale, label)
        text.rstrip()
        return text

    def _exchange_line(
        self, exchange: Exchange, scale: Scale, label: int, selected: bool, now_ns: int
    ) -> Text:
        name = f"{exchange.id} {safe_text(exchange.method)} {safe_text(exchange.path)}"
        line = Text(
            name[:label].ljust(label) + " ", self._style("selected") if selected else Style.null()
        )
        cells: list[tuple[str, Style]] = [(" ", Style.null())] * scale.width
        end = exchange.t_end if exchange.t_end is not None else now_ns
        bar = self._style("error") if exchange.state == "error" else self._style("bar")
        for column in range(scale(exchange.t_start), scale(end) + 1):
            cells[column] = ("─", bar)
        for event in exchange.events:
            shown = present.of(event)
            if shown.listed:
                char, style = shown.marker(event)
                cells[scale(event.t_ns)] = (char, self._style(style))
        for char, style in cells:
            line.append(char, style)
        line.append("\n")
        return line

    def _reload_lines(self, text: Text, scale: Scale, label: int) -> None:
        """A line for each reload within ``scale``'s span: ``↻`` at its time, then the
        note's words (``reloaded: main.py changed …``)."""
        style = self._style("reload")
        for note in self._reloads:
            if not scale.t0 <= note.t_ns <= scale.t1:
                continue
            column = scale(note.t_ns)
            line = Text("↻ reload"[:label].ljust(label) + " " + " " * column, style)
            line.append("↻", style)
            words = " " + safe_text(note.text).removeprefix("↻ ")
            line.append(words[: max(scale.width - column - 1, 0)], self._style("dim"))
            text.append_text(line)
            text.append("\n")

    def _event_line(self, event: Event, exchange: Exchange, scale: Scale, label: int) -> Text:
        shown = present.of(event)
        kind = shown.label(event)
        char, style = shown.marker(event)
        line = Text(kind[:label].ljust(label) + " ", self._style(style))
        column = scale(event.t_ns)
        line.append(" " * column)
        line.append(char, self._style(style))
        note = f" +{fmt_duration(event.t_ns - exchange.t_start)}"
        if column + 1 + len(note) <= scale.width:
            line.append(note, self._style("dim"))
        line.append("\n")
        return line
