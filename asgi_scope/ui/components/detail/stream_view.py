"""The Stream tab: a ``text/event-stream`` response as its events, or a WebSocket
session as its messages, one row each, the selected one in full (JSON pretty);
its bytes light up in the Hex tab.

Events: time since the request, gap since the event before, type, id, data
(:class:`~asgi_scope.trace.stream.EventStream`, the WHATWG event-stream
interpretation). WebSocket messages: time, direction, size, data, filtered as a
browser's WebSocket pane filters them: by direction (``g``: all, client → app,
app → client) and by a regular expression typed above the list. Every string
shown passes through :func:`~asgi_scope.trace.safe.safe_text`.
"""

from __future__ import annotations

import re

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Container, VerticalScroll
from textual.message import Message
from textual.widgets import DataTable, Input, Static

from asgi_scope.trace import content, present
from asgi_scope.trace.events import Wire
from asgi_scope.trace.safe import safe_text
from asgi_scope.trace.store import Connection, Exchange
from asgi_scope.trace.stream import (
    EventStream,
    StreamEvent,
    WebSocketItem,
    is_event_stream,
    matching,
    websocket_messages,
)
from asgi_scope.trace.summary import PREVIEW, fmt_bytes, fmt_duration
from asgi_scope.ui.actions import bindings
from asgi_scope.ui.components.detail.body_view import hex_dump, json_text

NOT_A_STREAM = (
    "Not a stream: this tab lists the events of a text/event-stream response "
    "(server-sent events) or the messages of a WebSocket session, one row each."
)

DIRECTIONS = ("", "in", "out")
"""The direction filter's steps (``g``): all, client → app, app → client."""

ARROWS = {"in": "client → app", "out": "app → client"}

COLUMNS = {
    "sse": ("#", "time", "gap", "event", "id", "data"),
    "ws": ("#", "time", "direction", "size", "data"),
}
"""The list's columns in each mode."""


def _data_text(data: str) -> Text:
    value = content.json_of(data) if data[:1] in "{[" else None
    return json_text(value) if value is not None else Text(safe_text(data, keep_newlines=True))


def _cut(data: str) -> str:
    return safe_text(data[:PREVIEW]) + ("…" if len(data) > PREVIEW else "")


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
        text.append_text(_data_text(event.data))
    return text


def _arrow(item: WebSocketItem) -> str:
    """The message's direction, and what the user did to it (step mode, composer)."""
    user = item.event.user
    arrow = present.COMPOSED if user == "composed" else ARROWS[item.direction]
    return arrow + (" ✗" if user == "dropped" else " ✎" if user == "edited" else "")


def message_text(item: WebSocketItem, since: int) -> Text:
    """One WebSocket message in full as safe ``Text``: direction, kind and size,
    what the user did to it, then its text (pretty JSON when it parses) or its
    bytes in hex."""
    kind = "text" if isinstance(item.data, str) else "binary"
    text = Text(f"{_arrow(item)}  {kind}  {fmt_bytes(item.size)}", "bold")
    text.append(f"  +{fmt_duration(item.t_ns - since)}\n", "dim")
    mark = present.USER_MARKS.get(item.event.user)
    if mark is not None:
        text.append(f"{mark} (the Messages tab has the original)\n" if item.event.original
                    else f"{mark}\n", "bold yellow")  # fmt: skip
    if isinstance(item.data, bytes):
        return text.append_text(hex_dump(item.data))
    return text.append_text(_data_text(item.data))


class StreamView(Container):
    """The events of the exchange's event stream, or its WebSocket messages, as
    they come."""

    BINDINGS = bindings("stream")

    class Picked(Message):
        """A row was selected: ``wire`` its bytes (``(direction, (start, end))``),
        or None if unknown."""

        def __init__(self, wire: tuple[str, Wire] | None) -> None:
            super().__init__()
            self.wire = wire

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._exchange: Exchange | None = None
        self._connection: Connection | None = None
        self._mode = ""
        self._stream: EventStream | None = None
        self._rows: list[StreamEvent | WebSocketItem] = []
        self.direction = ""
        """The WebSocket direction filter: ``""`` all, ``"in"``, ``"out"``."""
        self.pattern: re.Pattern[str] | None = None
        """The WebSocket regex filter (None: every message)."""

    def compose(self) -> ComposeResult:
        yield Input(placeholder="filter messages: a regular expression", id="stream-regex")
        yield DataTable(cursor_type="row", id="stream-list")
        with VerticalScroll(id="stream-detail-scroll"):
            yield Static(Text(NOT_A_STREAM, "dim"), id="stream-detail")

    def show(self, exchange: Exchange | None, connection: Connection | None) -> None:
        """Show ``exchange``'s events or messages; for the same exchange, add only
        new rows (and redraw the last event, which may have been cut mid-event)."""
        table = self.query_one("#stream-list", DataTable)
        if exchange is not self._exchange:
            self._exchange = exchange
            self._rows = []
            table.clear()
        self._connection = connection
        mode = ""
        if exchange is not None and exchange.kind == "websocket":
            mode = "ws"
        elif exchange is not None and is_event_stream(exchange):
            mode = "sse"
        if mode != self._mode:
            self._mode = mode
            self._rows = []
            table.clear(columns=True)
            for label in COLUMNS.get(mode, ()):
                table.add_column(label, key=label)
            self.query_one("#stream-regex").display = mode == "ws"
        self._stream = None
        if exchange is None or not mode:
            self.query_one("#stream-detail", Static).update(Text(NOT_A_STREAM, "dim"))
            return
        if mode == "sse":
            self._stream = EventStream(exchange, connection)
            rows: list[StreamEvent | WebSocketItem] = list(self._stream.events)
        else:
            rows = list(matching(websocket_messages(exchange), self.direction, self.pattern))
        keep = min(len(self._rows), len(rows))
        while keep and rows[keep - 1] != self._rows[keep - 1]:
            keep -= 1
        for index in range(len(self._rows) - 1, keep - 1, -1):
            table.remove_row(str(index))
        self._rows = self._rows[:keep]
        for index in range(keep, len(rows)):
            self._add_row(table, index, rows)
        if keep == 0:
            if table.row_count:
                table.move_cursor(row=0)
                self._pick(0)
            else:
                self.query_one("#stream-detail", Static).update(Text("No rows.", "dim"))

    def _add_row(
        self, table: DataTable, index: int, rows: list[StreamEvent | WebSocketItem]
    ) -> None:
        assert self._exchange is not None
        item = rows[index]
        since = Text("+" + fmt_duration(item.t_ns - self._exchange.t_start), justify="right")
        number = Text(str(index + 1), "dim", justify="right")
        if isinstance(item, WebSocketItem):
            data = item.data
            style = "green" if item.direction == "out" else "magenta"
            table.add_row(
                number,
                since,
                Text(_arrow(item), style),
                Text(fmt_bytes(item.size), justify="right"),
                Text(_cut(item.text) if isinstance(data, str) else data[:24].hex(" ")),
                key=str(index),
            )
        else:
            event = item.event
            gap = item.t_ns - rows[index - 1].t_ns if index else None
            dim = "" if event.dispatched else "dim"
            data = event.data or (": " + " ".join(event.comments) if event.comments else "")
            table.add_row(
                number,
                since,
                Text("" if gap is None else "+" + fmt_duration(gap), "dim", justify="right"),
                Text(safe_text(event.event), "bold" if event.dispatched else "dim"),
                Text(safe_text(event.id or ""), dim),
                Text(_cut(data), dim),
                key=str(index),
            )
        self._rows.append(item)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        self._pick(int(str(event.row_key.value)))

    def _pick(self, index: int) -> None:
        exchange = self._exchange
        if exchange is None or index >= len(self._rows):
            return
        item = self._rows[index]
        detail = self.query_one("#stream-detail", Static)
        if isinstance(item, WebSocketItem):
            detail.update(message_text(item, exchange.t_start))
            self.post_message(self.Picked(present.of(item.event).wire(item.event, exchange)))
        elif self._stream is not None:
            detail.update(event_text(item, exchange.t_start))
            self.post_message(self.Picked(self._stream.wire(index)))

    def _refilter(self) -> None:
        """Show the WebSocket messages again under the filters just changed."""
        table = self.query_one("#stream-list", DataTable)
        self._rows = []
        table.clear()
        self.show(self._exchange, self._connection)

    def action_cycle_direction(self) -> None:
        """WebSocket: all messages, then client → app only, then app → client only."""
        self.direction = DIRECTIONS[(DIRECTIONS.index(self.direction) + 1) % len(DIRECTIONS)]
        shown = ARROWS.get(self.direction, "all directions")
        self.query_one("#stream-regex", Input).border_title = shown
        self._refilter()

    def on_input_changed(self, event: Input.Changed) -> None:
        """The regex filter, applied as it is typed; one that does not compile is
        marked and the last good one stays."""
        event.stop()
        field = self.query_one("#stream-regex", Input)
        try:
            pattern = re.compile(event.value, re.IGNORECASE) if event.value else None
        except re.error:
            field.add_class("-invalid")
            return
        field.remove_class("-invalid")
        self.pattern = pattern
        self._refilter()
