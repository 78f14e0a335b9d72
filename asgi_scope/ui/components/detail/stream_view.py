"""The Stream tab: a ``text/event-stream`` response as its events, one row each
(time since the request, gap since the event before, type, id, data), the
selected one in full; its bytes light up in the Hex tab.

The events come from :class:`~asgi_scope.trace.stream.EventStream` (the WHATWG
event-stream interpretation); every string shown passes through
:func:`~asgi_scope.trace.safe.safe_text`.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Container, VerticalScroll
from textual.message import Message
from textual.widgets import DataTable, Static

from asgi_scope.trace import content
from asgi_scope.trace.events import Wire
from asgi_scope.trace.safe import safe_text
from asgi_scope.trace.store import Connection, Exchange
from asgi_scope.trace.stream import EventStream, StreamEvent, is_event_stream
from asgi_scope.trace.summary import PREVIEW, fmt_duration
from asgi_scope.ui.components.detail.body_view import json_text

NOT_A_STREAM = (
    "Not an event stream: this tab lists the events of a text/event-stream "
    "response (server-sent events), one row each."
)


def event_text(item: StreamEvent, since: int) -> Text:
    """One event in full as safe ``Text``: its fields, then its data (pretty JSON
    when it parses as JSON)."""
    event = item.event
    text = Text()
    text.append(f"event {safe_text(event.event)}", "bold")
    text.append(f"  +{fmt_duration(item.t_ns - since)}", "dim")
    if event.id is not None:
        text.append(f"  id {safe_text(event.id)}")
    if event.retry is not None:
        text.append(f"  retry {event.retry} ms")
    if not event.dispatched:
        why = "not ended yet" if event.data else "no data: nothing dispatched"
        text.append(f"  ({why})", "dim")
    text.append("\n")
    for comment in event.comments:
        text.append(f": {safe_text(comment)}\n", "dim")
    if event.data:
        value = content.json_of(event.data)
        if value is not None:
            text.append_text(json_text(value))
        else:
            text.append(safe_text(event.data, keep_newlines=True))
    return text


class StreamView(Container):
    """The events of the exchange's event stream, as they come."""

    class Picked(Message):
        """An event was selected: ``wire`` its bytes (``("out", (start, end))``),
        or None if unknown."""

        def __init__(self, wire: tuple[str, Wire] | None) -> None:
            super().__init__()
            self.wire = wire

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._exchange: Exchange | None = None
        self._stream: EventStream | None = None
        self._rows: list[StreamEvent] = []

    def compose(self) -> ComposeResult:
        table = DataTable(cursor_type="row", id="stream-list")
        for label in ("#", "time", "gap", "event", "id", "data"):
            table.add_column(label, key=label)
        yield table
        with VerticalScroll(id="stream-detail-scroll"):
            yield Static(Text(NOT_A_STREAM, "dim"), id="stream-detail")

    def show(self, exchange: Exchange | None, connection: Connection | None) -> None:
        """Show ``exchange``'s events; for the same exchange, add only new ones (and
        redraw the last, which may have been cut mid-event)."""
        table = self.query_one("#stream-list", DataTable)
        if exchange is not self._exchange:
            self._exchange = exchange
            self._rows = []
            table.clear()
        if exchange is None or not is_event_stream(exchange):
            self._stream = None
            self.query_one("#stream-detail", Static).update(Text(NOT_A_STREAM, "dim"))
            return
        self._stream = EventStream(exchange, connection)
        events = self._stream.events
        keep = len(self._rows)
        while keep and (keep > len(events) or events[keep - 1] != self._rows[keep - 1]):
            keep -= 1
        for index in range(len(self._rows) - 1, keep - 1, -1):
            table.remove_row(str(index))
        self._rows = self._rows[:keep]
        for index in range(keep, len(events)):
            self._add_row(table, index, events)
        if table.row_count and keep == 0:
            table.move_cursor(row=0)
            self._pick(0)

    def _add_row(self, table: DataTable, index: int, events: list[StreamEvent]) -> None:
        assert self._exchange is not None
        item = events[index]
        event = item.event
        gap = item.t_ns - events[index - 1].t_ns if index else None
        dim = "" if event.dispatched else "dim"
        data = event.data or (": " + " ".join(event.comments) if event.comments else "")
        table.add_row(
            Text(str(index + 1), "dim", justify="right"),
            Text("+" + fmt_duration(item.t_ns - self._exchange.t_start), justify="right"),
            Text("" if gap is None else "+" + fmt_duration(gap), "dim", justify="right"),
            Text(safe_text(event.event), "bold" if event.dispatched else "dim"),
            Text(safe_text(event.id or ""), dim),
            Text(safe_text(data[:PREVIEW]) + ("…" if len(data) > PREVIEW else ""), dim),
            key=str(index),
        )
        self._rows.append(item)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        self._pick(int(str(event.row_key.value)))

    def _pick(self, index: int) -> None:
        if self._stream is None or self._exchange is None or index >= len(self._rows):
            return
        detail = event_text(self._rows[index], self._exchange.t_start)
        self.query_one("#stream-detail", Static).update(detail)
        self.post_message(self.Picked(self._stream.wire(index)))
