"""The Messages tab: every message of an exchange in order, and the one selected in full."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Container, VerticalScroll
from textual.message import Message
from textual.widgets import DataTable, Static
from textual.widgets.data_table import ColumnKey

from asgi_scope.trace import present
from asgi_scope.trace.events import (
    AppRaised,
    Event,
    ExchangeEnded,
    LayerEntered,
    LayerReceived,
    LayerReturned,
    LayerSent,
    LifespanState,
    MessageReceived,
    MessageSent,
    OtelSpan,
    ProtocolError,
    ScopeCreated,
    ServerNote,
    SpecViolation,
    WebSocketFrame,
    Wire,
)
from asgi_scope.trace.layer_changes import LAYER_EVENTS, by_layer
from asgi_scope.trace.rules import rule as spec_rule
from asgi_scope.trace.rules import severity_of
from asgi_scope.trace.safe import safe_bytes, safe_text
from asgi_scope.trace.store import EVENTS_KEPT, Exchange
from asgi_scope.trace.summary import (
    fmt_bytes,
    fmt_duration,
    message_summary,
    message_type,
    opcode_name,
)
from asgi_scope.ui.actions import bindings
from asgi_scope.ui.components.notes import note_text
from asgi_scope.ui.render import pretty
from asgi_scope.ui.search import decoded_bodies, find, hits_text, searchable

_UNKEPT = "unkept"
"""The key of the list's last row once an exchange has events not kept."""


def _wire(label: str, wire: Wire | None) -> str:
    if wire is None:
        return ""
    start, end = wire
    return f"  {label} bytes {start}–{end} ({fmt_bytes(end - start)})"


def detail(event: Event, exchange: Exchange, width: int = 100) -> Text:
    """Everything about one event of ``exchange`` as safe ``Text``: a head (its
    kind, seq, time and wire range), then its own body (see :data:`_BODIES`)."""
    since = fmt_duration(event.t_ns - exchange.t_start)
    head = Text()
    head.append(f"{type(event).__name__}", "bold")
    head.append(f"  seq {event.seq}  +{since}", "dim")
    found = present.of(event).wire(event, exchange)
    if found is not None:
        head.append(_wire("received" if found[0] == "in" else "sent", found[1]), "dim")
    head.append("\n")
    body = _BODIES.get(type(event))
    if body is not None:
        head.append_text(body(event, exchange, width))
    return head


_USER_WORDS = {
    "edited": "held in step mode and edited by the user: this went on instead of the {}",
    "dropped": "held in step mode and dropped by the user: it never went on",
    "composed": "composed by the user in asgi-scope's composer, not sent by the client",
}


def _message_body(event: MessageReceived | MessageSent, exchange: Exchange, width: int) -> Text:
    text = violations_of(event, exchange)
    words = _USER_WORDS.get(event.user)
    if words is not None:
        came = "message the app sent" if isinstance(event, MessageSent) else "server's message"
        text.append(f"{present.USER_MARKS[event.user]}: ", "bold yellow")
        text.append(words.format(came) + "\n")
    text.append_text(pretty(event.message, dropped=event.dropped, width=width))
    if event.original is not None:
        who = "the app sent" if isinstance(event, MessageSent) else "the server gave"
        text.append(f"\nThe original, as {who} it:\n", "bold")
        text.append_text(pretty(event.original, width=width))
    return text


def _otel_body(event: OtelSpan, exchange: Exchange, width: int) -> Text:
    """An OpenTelemetry span's or log record's detail: what it is, its ids, its
    attributes (no message: spans carry none)."""
    what = "log record" if event.span_kind == "log" else f"{event.span_kind} span"
    text = Text(f"OpenTelemetry {safe_text(what)}: {safe_text(event.name)}\n", "bold")
    text.append(f"status {safe_text(event.status)}")
    if event.status_message:
        text.append(f": {safe_text(event.status_message)}")
    if event.span_kind != "log":
        text.append(f"  took {fmt_duration(event.end_ns - event.t_ns)}")
    text.append(f"\ntrace {safe_text(event.trace_id)}")
    if event.span_id:
        text.append(f"  span {safe_text(event.span_id)}")
    if event.parent_id:
        text.append(f"  parent {safe_text(event.parent_id)}")
    text.append("\n\n")
    text.append_text(pretty(event.attributes, width=width))
    return text


def _raised_body(event: AppRaised, exchange: Exchange, width: int) -> Text:
    text = Text()
    text.append(safe_text(event.exc_type), "bold red")
    text.append(": " + safe_text(event.message) + "\n\n")
    text.append(safe_text(event.traceback.rstrip("\n"), keep_newlines=True))
    return text


def _protocol_error_body(event: ProtocolError, exchange: Exchange, width: int) -> Text:
    text = Text()
    text.append(f"by {safe_text(event.by)}", "bold red")
    answer = f"answered {event.status}" if event.status else "connection closed, no answer"
    text.append(f" ({answer})\n")
    text.append(safe_text(event.detail, keep_newlines=True))
    return text


def _lifespan_state_body(event: LifespanState, exchange: Exchange, width: int) -> Text:
    text = Text("The lifespan state as startup left it; each request's scope gets a copy.\n")
    text.append_text(pretty(event.state, width=width))
    return text


def _ended_body(event: ExchangeEnded, exchange: Exchange, width: int) -> Text:
    text = Text(f"outcome {safe_text(event.outcome)}, status {event.status or '-'}\n")
    text.append("The scope as the app left it is in the Scope tab.", "dim")
    return text


def explanation_text(event: Event) -> Text:
    """Explain mode's words for ``event`` and the section they come from."""
    explanation = present.explain(event)
    text = Text()
    text.append("ⓘ ", "bold cyan")
    text.append(explanation.text, "italic")
    text.append(f"  ({explanation.section})\n", "dim")
    return text


_SEVERITY_STYLES = {"error": "bold red", "warning": "bold yellow", "info": "bold cyan",
                    "perf": "bold cyan"}  # fmt: skip


def violation_text(event: SpecViolation) -> Text:
    """A spec violation in full: the rule, what the app did, the spec's words, where."""
    rule = spec_rule(event.rule)
    severity = severity_of(event.rule)
    text = Text()
    text.append(f"⚠ {severity} {safe_text(event.rule)}", _SEVERITY_STYLES[severity])
    if rule is not None:
        text.append(f"  {rule.title}", "bold")
    text.append("\n" + safe_text(event.detail) + "\n\n")
    if rule is not None:
        text.append("The spec says: ", "dim")
        text.append(f"{rule.text}\n", "italic")
        text.append("Fix: ", "dim")
        text.append(f"{rule.fix}\n")
    text.append(f"{safe_text(event.section)}", "dim")
    if event.cause:
        text.append(f"\nBroken by the message with seq {event.cause}, just above.", "dim")
    else:
        text.append("\nAbout the exchange as a whole (how the app's call ended).", "dim")
    return text


def violations_of(event: Event, exchange: Exchange) -> Text:
    """One line per spec violation ``event`` caused, for the top of its detail."""
    text = Text()
    for other in exchange.events:
        if isinstance(other, SpecViolation) and other.cause == event.seq:
            rule = spec_rule(other.rule)
            title = f" ({rule.title})" if rule is not None else ""
            text.append(f"⚠ breaks {safe_text(other.rule)}{title}: ", "bold red")
            text.append(safe_text(other.detail) + "\n")
    return text


def _layer_body(event: Event, exchange: Exchange, width: int) -> Text:
    """A layer event's detail: the message, the scope as it entered, or how it ended."""
    text = Text(f"layer {event.depth}: {safe_text(event.layer)}\n", "bold")  # type: ignore[attr-defined]
    if isinstance(event, (LayerReceived, LayerSent)):
        text.append_text(pretty(event.message, dropped=event.dropped, width=width))
    elif isinstance(event, LayerEntered):
        text.append(f"{safe_text(event.module)}\n", "dim")
        if event.scope is None:
            text.append("Called with the scope the server built (the Scope tab).", "dim")
        else:
            text.append("The scope as it entered this layer:\n")
            text.append_text(pretty(event.scope, width=width))
    elif isinstance(event, LayerReturned):
        text.append(f"{safe_text(event.outcome)} {safe_text(event.exc_type)}".rstrip())
    return text


def _frame_detail(frame: WebSocketFrame, exchange: Exchange, width: int) -> Text:
    """A frame's header fields, its payload and the ASGI message it became."""
    text = Text()
    name = opcode_name(frame.opcode)
    text.append(f"opcode {frame.opcode} ({name})  FIN {int(frame.fin)}  ", "bold")
    text.append(f"payload {fmt_bytes(frame.length)}")
    if not frame.complete:
        text.append("  cut short: the connection ended inside this frame", "bold red")
    text.append("\n")
    if frame.opcode == 8 and len(frame.payload) >= 2:
        code = int.from_bytes(frame.payload[:2], "big")
        text.append(f"close code {code}  reason ")
        text.append(safe_bytes(frame.payload[2:]) or "(none)")
        text.append("\n")
    elif frame.opcode in (0, 1) and frame.payload:
        text.append(safe_bytes(frame.payload, keep_newlines=True) + "\n")
    elif frame.payload:
        text.append(frame.payload[:512].hex(" ") + "\n")
    if len(frame.payload) < frame.length:
        text.append(f"… {frame.length - len(frame.payload)} more bytes not kept\n", "dim")
    message = exchange.message_of(frame)
    text.append("\nbecame: " if frame.direction == "in" else "\nbuilt for: ", "bold")
    if message is not None:
        kind = message_type(message.message)
        summary = message_summary(message.message, message.dropped)
        text.append(f"{kind} {summary} (seq {message.seq})")
    elif frame.direction == "out":
        text.append("the server's own frame (pong, close reply or close)")
    else:
        text.append("no message (yet): a fragment, or a control frame the server answered")
    return text


_BODIES: dict[type[Event], Callable[[Any, Exchange, int], Text]] = {
    MessageReceived: _message_body,
    MessageSent: _message_body,
    SpecViolation: lambda event, exchange, width: violation_text(event),
    ScopeCreated: lambda event, exchange, width: pretty(event.scope, width=width),
    AppRaised: _raised_body,
    ProtocolError: _protocol_error_body,
    LifespanState: _lifespan_state_body,
    ExchangeEnded: _ended_body,
    OtelSpan: _otel_body,
    WebSocketFrame: _frame_detail,
    ServerNote: lambda event, exchange, width: note_text(event),  # the app's output line
    **dict.fromkeys(LAYER_EVENTS, _layer_body),
}
"""The body of an event's detail, under its head, by event class (none: the head alone)."""


def unkept_text(unkept: int) -> Text:
    """What the "not kept" row of an exchange with ``unkept`` events stands for."""
    text = Text()
    text.append(f"{unkept:,} more events counted, not kept\n\n", "bold")
    text.append(
        f"At most {EVENTS_KEPT:,} events are kept per exchange, so that a long stream "
        f"or WebSocket session stays within memory. This one went on past that: its "
        f"next {unkept:,} messages, WebSocket frames and raw reads and writes of bytes "
        "were counted, and still count in its row (sizes, state), but they were not "
        "kept, so they are not listed here (their raw bytes stay in the Hex tab, "
        "within --keep-bytes).\n\n"
    )
    text.append(
        "The Sequence and Timeline tabs draw their phases from the kept events only.",
        "dim",
    )
    return text


class MessageList(DataTable):
    """The list of messages: a DataTable whose Home and End go to the first and
    last row, as they do in the exchange table, and whose summary column takes
    the width the other columns leave (its text cut there with "…")."""

    BINDINGS = bindings("messages")

    def on_resize(self) -> None:
        self.fit_summary()

    def fit_summary(self) -> None:
        """Give the summary column every cell the other columns leave."""
        summary = self.columns.get(ColumnKey("summary"))
        if summary is None or not self.size.width:
            return
        others = sum(c.get_render_width(self) for k, c in self.columns.items() if k != "summary")
        room = self.scrollable_content_region.width - others - 2 * self.cell_padding
        width = max(room, MIN_SUMMARY)
        if summary.auto_width or summary.width != width:
            summary.auto_width = False
            summary.width = width
            self._require_update_dimensions = True  # as DataTable's own width changes do
            self.refresh()

    def action_toggle_layers(self) -> None:
        """Each middleware layer's messages, grouped by layer, under the list: on/off."""
        self.query_ancestor(MessagesView).toggle_layers()


MIN_SUMMARY = 12
"""The summary column's narrowest width, in cells."""


class MessagesView(Container):
    """A list of the exchange's messages and, under or beside it, the selected one."""

    COMPONENT_CLASSES = {
        "messages--in",
        "messages--out",
        "messages--error",
        "messages--dim",
    }

    class Picked(Message):
        """The selected event changed (None: none)."""

        def __init__(self, event: Event | None) -> None:
            super().__init__()
            self.event = event

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._exchange: Exchange | None = None
        self._seen = 0
        self._unkept = 0  # the count the "not kept" row shows
        self._events: dict[str, Event] = {}
        self.search_term = ""
        """The last search (:meth:`find_next`); its matches show under the detail."""
        self.explain = False
        """Explain mode: the detail opens with what the event means (trace/explain.py)."""
        self.with_layers = False
        """Whether each middleware layer's events are listed too, grouped by layer (g)."""
        self._layer_keys: list[str] = []  # the rows of those, at the end of the list

    def compose(self) -> ComposeResult:
        table = MessageList(cursor_type="row", id="message-list")
        table.add_column("direction", key="dir")
        table.add_column("time", key="time")
        table.add_column("type", key="type")
        table.add_column("summary", key="summary")
        yield table
        with VerticalScroll(id="message-detail-scroll"):
            yield Static(Text("Select a message.", "dim"), id="message-detail")

    @property
    def selected(self) -> Event | None:
        """The highlighted event, if any."""
        table = self.query_one("#message-list", DataTable)
        if not table.row_count:
            return None
        row_key, _ = table.coordinate_to_cell_key(table.cursor_coordinate)
        return self._events.get(str(row_key.value))

    def show(self, exchange: Exchange | None) -> None:
        """Show ``exchange``'s messages; for the same exchange, append only new ones."""
        table = self.query_one("#message-list", MessageList)
        if exchange is not self._exchange:
            self._exchange = exchange
            self._seen = 0
            self._unkept = 0
            self._events.clear()
            self._layer_keys.clear()
            table.clear()
            self._show_detail(None)
        if exchange is None:
            return
        first = not table.row_count
        new = exchange.events[self._seen :]
        self._seen = len(exchange.events)
        added = False
        for event in new:
            if present.of(event).listed:
                self._add_row(table, exchange, event)
                added = True
        if self.with_layers and any(type(event) in LAYER_EVENTS for event in new):
            self._list_layers(table, exchange)
        if exchange.unkept and (added or exchange.unkept != self._unkept):
            self._show_unkept(table, exchange.unkept, added)
        if first and table.row_count:
            table.move_cursor(row=0)
            self._show_detail(self.selected)

    def toggle_layers(self) -> None:
        """List each middleware layer's events too (grouped by layer), or stop."""
        self.with_layers = not self.with_layers
        exchange, self._exchange = self._exchange, None
        self.show(exchange)

    def _list_layers(self, table: DataTable, exchange: Exchange) -> None:
        """(Re)write the layer rows at the end of the list, grouped by layer,
        outermost first (trace/layer_changes.py); the cursor stays on its event."""
        selected = self.selected
        for key in self._layer_keys:
            self._events.pop(key, None)
            table.remove_row(key)
        self._layer_keys = []
        for event in by_layer(exchange.events):
            self._add_row(table, exchange, event)
            self._layer_keys.append(str(event.seq))
        if selected is not None and str(selected.seq) in self._events:
            table.move_cursor(row=table.get_row_index(str(selected.seq)))

    def _show_unkept(self, table: DataTable, unkept: int, added: bool) -> None:
        """The last row, moved there again as rows come (``added``): how many of the
        exchange's streamed events the store counted but did not keep (see
        EVENTS_KEPT). A new count alone is written in place: removing a row
        renumbers every row (up to EVENTS_KEPT of them) and moves the cursor."""
        self._unkept = unkept
        dim = self._style("dim")
        text = f"{unkept:,} more"  # "not kept" in the type column; the detail says all
        on_it = False
        if _UNKEPT in table.rows:
            if not added:  # still the last row
                table.update_cell(_UNKEPT, "summary", Text(text, dim), update_width=True)
                self._recount()
                return
            on_it = table.cursor_row == table.get_row_index(_UNKEPT)
            table.remove_row(_UNKEPT)
        table.add_row(Text("…", dim), Text(""), Text("not kept", dim), Text(text, dim), key=_UNKEPT)
        if on_it:
            table.move_cursor(row=table.row_count - 1)
        self._recount()

    def _recount(self) -> None:
        """Redraw the detail of the "not kept" row, if selected, with the new count."""
        if self._on_unkept():
            self.query_one("#message-detail", Static).update(unkept_text(self._unkept))

    def _style(self, name: str) -> Style:
        return self.get_component_rich_style(f"messages--{name}", partial=True)

    def _add_row(self, table: MessageList, exchange: Exchange, event: Event) -> None:
        shown = present.of(event)
        arrow, style = shown.arrow(event), shown.style(event)
        kind, summary = shown.label(event), shown.summary(event)
        key = str(event.seq)
        self._events[key] = event
        table.add_row(
            Text(arrow, self._style(style)),
            Text("+" + fmt_duration(event.t_ns - exchange.t_start), justify="right"),
            Text(kind, self._style("error") if style == "error" else ""),
            Text(summary, no_wrap=True, overflow="ellipsis"),
            key=key,
        )
        table.call_after_refresh(table.fit_summary)  # once the other columns grew
        if isinstance(event, SpecViolation) and str(event.cause) in self._events:
            # Mark the message that broke the rule, too: its row reads "type ⚠".
            cause = self._events[str(event.cause)]
            kind = present.of(cause).label(cause)
            table.update_cell(str(event.cause), "type", Text(f"{kind} ⚠", self._style("error")))

    def _on_unkept(self) -> bool:
        """Whether the cursor is on the "not kept" row."""
        table = self.query_one("#message-list", DataTable)
        return (
            _UNKEPT in table.rows
            and table.row_count > 0
            and table.cursor_row == table.get_row_index(_UNKEPT)
        )

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        self._show_detail(self._events.get(str(event.row_key.value)))

    def select_seq(self, seq: int) -> bool:
        """Select the row of the event with ``seq`` (False if it has none)."""
        table = self.query_one("#message-list", DataTable)
        key = str(seq)
        if key not in self._events:
            return False
        table.move_cursor(row=table.get_row_index(key))
        return True

    def set_explain(self, on: bool) -> None:
        """Explain mode on or off; the selected event's detail is redrawn."""
        self.explain = on
        self._show_detail(self.selected)

    def find_next(self, term: str) -> bool:
        """Select the next message (after the selected one, wrapping) whose stored
        content contains ``term``, case-insensitive; False if none does."""
        self.search_term = term
        table = self.query_one("#message-list", DataTable)
        events = list(self._events.values())  # row order
        if not term or not events:
            self._show_detail(self.selected)
            return False
        # From the "not kept" row, the last (it has no event), start again at the top.
        start = table.cursor_row if table.cursor_row < len(events) else -1
        decoded = decoded_bodies(self._exchange) if self._exchange is not None else {}
        for step in range(1, len(events) + 1):
            index = (start + step) % len(events)
            if find(searchable(events[index], decoded.get(events[index].seq)), term):
                if index == table.cursor_row:
                    self._show_detail(events[index])
                else:
                    table.move_cursor(row=index)
                return True
        self._show_detail(self.selected)
        return False

    def _show_detail(self, event: Event | None) -> None:
        static = self.query_one("#message-detail", Static)
        if event is None and self._exchange is not None and self._unkept and self._on_unkept():
            static.update(unkept_text(self._unkept))
        elif event is None or self._exchange is None:
            static.update(Text("Select a message.", "dim"))
        else:
            text = detail(event, self._exchange, max(self.size.width - 4, 40))
            hits = []
            if self.search_term:
                decoded = decoded_bodies(self._exchange).get(event.seq)
                hits = find(searchable(event, decoded), self.search_term)
            if hits:  # on top, in view: the matches may be past the rendered cut
                text = Text.assemble(hits_text(hits, self.search_term), "\n", text)
            if self.explain:
                text = Text.assemble(explanation_text(event), "\n", text)
            static.update(text)
        self.post_message(self.Picked(event))
