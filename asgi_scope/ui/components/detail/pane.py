"""The detail pane: tabs that show the selected exchange eight ways (Messages,
Body, Stream, Scope, Hex, Timeline, Sequence, Layers)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Container
from textual.widgets import TabbedContent, TabPane, Tabs

from asgi_scope.trace import present
from asgi_scope.trace.events import Event
from asgi_scope.trace.framing import event_at
from asgi_scope.trace.store import Exchange, Store
from asgi_scope.ui.components.detail.body_view import BodyView
from asgi_scope.ui.components.detail.hex_view import HexView, Highlight
from asgi_scope.ui.components.detail.layers_view import LayersView
from asgi_scope.ui.components.detail.messages import MessagesView
from asgi_scope.ui.components.detail.scope_view import ScopeView
from asgi_scope.ui.components.detail.sequence import SequenceView
from asgi_scope.ui.components.detail.stream_view import StreamView
from asgi_scope.ui.components.detail.timeline import TimelineView

TABS = ("messages", "body", "stream", "scope", "hex", "timeline", "sequence", "layers")
"""Tab ids, left to right (each pane's id is ``tab-<name>``)."""

MAIN_WIDGETS: dict[str, str | type] = {
    "messages": "#message-list",
    "body": BodyView,
    "stream": "#stream-list",
    "scope": ScopeView,
    "hex": HexView,
    "timeline": TimelineView,
    "sequence": SequenceView,
    "layers": LayersView,
}
"""The widget of each tab that gets the focus when the tab is shown."""


def wire_of(event: Event | None, exchange: Exchange | None) -> Highlight | None:
    """The raw bytes ``event`` came from or became, as a Hex highlight."""
    if event is None or exchange is None:
        return None
    found = present.of(event).wire(event, exchange)
    return None if found is None else (found[0], *found[1])


class DetailPane(Container):
    """Messages, Scope, Hex and Timeline of one exchange.

    Only the active tab is redrawn when the exchange changes; the others are marked
    stale and redrawn when they are shown. The Messages list is always kept current,
    because its selection picks the bytes the Hex tab highlights.
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._store: Store | None = None
        self._exchange: Exchange | None = None
        self._now = 0
        self._stale: set[str] = set()
        self._hex_picked = 0  # seq of the message the Hex cursor selected, until Picked
        self._stream_wire: Highlight | None = None  # the Stream tab's pick, until Picked

    def compose(self) -> ComposeResult:
        with TabbedContent(id="tabs", initial="tab-messages"):
            with TabPane("Messages", id="tab-messages"):
                yield MessagesView(id="messages")
            with TabPane("Body", id="tab-body"):
                yield BodyView(id="body")
            with TabPane("Stream", id="tab-stream"):
                yield StreamView(id="stream")
            with TabPane("Scope", id="tab-scope"):
                yield ScopeView(id="scope")
            with TabPane("Hex", id="tab-hex"):
                yield HexView(id="hex")
            with TabPane("Timeline", id="tab-timeline"):
                yield TimelineView(id="timeline")
            with TabPane("Sequence", id="tab-sequence"):
                yield SequenceView(id="sequence")
            with TabPane("Layers", id="tab-layers"):
                yield LayersView(id="layers")

    def on_mount(self) -> None:
        # Tabs switch with keys (m, o, E, s, x, t, d, L) or the mouse; Tab moves between lists.
        self.query_one(Tabs).can_focus = False

    @property
    def exchange(self) -> Exchange | None:
        """The exchange shown."""
        return self._exchange

    @property
    def active(self) -> str:
        """The name of the active tab (``messages``, ``scope``, ``hex``, ``timeline``)."""
        return (self.query_one(TabbedContent).active or "tab-messages").removeprefix("tab-")

    def show_tab(self, tab: str, focus: bool = False) -> None:
        """Bring tab ``tab`` (``messages``, ``scope``, ``hex``, ``timeline``, ``sequence``)
        to the front; with ``focus`` (the tab chosen by its key), give the focus to its
        main widget, as browser devtools do, so that its own keys work at once."""
        self.query_one(TabbedContent).active = f"tab-{tab}"  # the pane shows at once
        if focus:
            self.screen.set_focus(self.query_one(MAIN_WIDGETS[tab]))

    def show(self, store: Store, exchange_id: int | None, now_ns: int) -> None:
        """Show (or bring up to date) exchange ``exchange_id`` of ``store``."""
        self._store = store
        exchange = store.exchanges.get(exchange_id) if exchange_id else None
        if exchange is not self._exchange:
            self._stream_wire = None
        self._exchange = exchange
        self._now = now_ns
        self._stale = set(TABS)
        self.query_one(MessagesView).show(self._exchange)
        self._stale.discard("messages")
        self._redraw(self.active)

    def tick(self, now_ns: int) -> None:
        """Redraw the Timeline, if shown, for an exchange still running."""
        if self._exchange is not None and self._exchange.t_end is None:
            self._now = now_ns
            if self.active == "timeline":
                self._redraw("timeline")

    def _redraw(self, tab: str) -> None:
        if tab not in self._stale:
            return
        self._stale.discard(tab)
        exchange, store = self._exchange, self._store
        connection = store.connections.get(exchange.conn) if exchange and store else None
        if tab == "body":
            self.query_one(BodyView).show(store, exchange)
        elif tab == "scope":
            self.query_one(ScopeView).show(exchange)
        elif tab == "hex":
            hex_view = self.query_one(HexView)
            hex_view.show(exchange, connection)
            picked = self._stream_wire or wire_of(self.query_one(MessagesView).selected, exchange)
            hex_view.set_highlight(picked)
        elif tab == "timeline":
            exchanges = []
            if connection is not None and store is not None:
                exchanges = [
                    store.exchanges[i] for i in connection.exchanges if i in store.exchanges
                ]
            reloads = list(store.marks.values()) if store is not None else []
            self.query_one(TimelineView).show(exchange, connection, exchanges, self._now, reloads)
        elif tab == "stream":
            self.query_one(StreamView).show(exchange, connection)
        elif tab == "sequence":
            self.query_one(SequenceView).show(store, exchange)
        elif tab == "layers":
            self.query_one(LayersView).show(exchange)

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        event.stop()
        self._move_focus(self.active)
        self._redraw(self.active)

    def _move_focus(self, tab: str) -> None:
        """If focus was in the pane just hidden, give it to the new tab's main widget.

        Otherwise Textual hands it to a sibling in the hidden pane, whose TabPane
        then asks to be shown again: the tab would bounce back.
        """
        focused = self.app.focused
        pane = self.query_one(f"#tab-{tab}")
        if focused is None or self not in focused.ancestors or pane in focused.ancestors:
            return
        self.screen.set_focus(self.query_one(MAIN_WIDGETS[tab]))

    def on_stream_view_picked(self, event: StreamView.Picked) -> None:
        """An event of the stream was selected: its bytes light up in the Hex tab."""
        event.stop()
        self._stream_wire = None if event.wire is None else (event.wire[0], *event.wire[1])
        self.query_one(HexView).set_highlight(self._stream_wire)

    def on_messages_view_picked(self, event: MessagesView.Picked) -> None:
        event.stop()
        self._stream_wire = None
        from_hex = event.event is not None and event.event.seq == self._hex_picked
        self._hex_picked = 0
        self.query_one(HexView).set_highlight(
            wire_of(event.event, self._exchange), scroll=not from_hex
        )

    def on_hex_view_cursor_moved(self, event: HexView.CursorMoved) -> None:
        """The byte cursor moved: select the message that byte came from or became
        (the Hex view keeps its place; the message's bytes light up around the cursor)."""
        event.stop()
        if self._exchange is None:
            return
        found = event_at(self._exchange, event.direction, event.offset)
        if found is None:
            return
        messages = self.query_one(MessagesView)
        if messages.selected is not found:
            self._hex_picked = found.seq
            messages.select_seq(found.seq)
