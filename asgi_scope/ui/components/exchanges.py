"""The live table of exchanges: one row per request, WebSocket session or lifespan,
and a row of its own for each reload of the app (``↻ reloaded: main.py changed``,
the store's marks), between the old app process's exchanges and the new one's.

A Line API widget (a :class:`~textual.scroll_view.ScrollView`, as toolong's log
view): it holds only the ids of the store's exchanges, in order, and renders
the rows on screen from the store when they are drawn, so a table of ten
thousand exchanges costs what its visible rows cost, and an exchange that
scrolls past under load is never rendered at all. Rows already drawn are
cached as strips until their exchange changes.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from asgi_scope.trace.events import ServerNote
from asgi_scope.trace.layer_changes import answered_by
from asgi_scope.trace.safe import safe_text
from asgi_scope.trace.store import Exchange, Store
from asgi_scope.trace.summary import fmt_bytes, fmt_duration
from asgi_scope.trace.view import View
from asgi_scope.ui.actions import bindings
from asgi_scope.ui.render import safe_repr

COLUMNS = (
    ("id", "#"),
    ("conn", "conn"),
    ("method", "method"),
    ("path", "path"),
    ("status", "status"),
    ("time", "time"),
    ("in", "in"),
    ("out", "out"),
    ("state", "state"),
)
"""``(key, label)`` of each column, left to right."""

MAX_PATH = 60
"""Characters of a path (with its query) shown in the table."""

MAX_STATUS = 24
"""Characters of a status cell that is not a valid status (an app's odd value)."""

PADDING = 1
"""Blank cells either side of each column's content (as DataTable's)."""


class _Rows:
    """The table's row keys (``str`` of exchange ids), for ``len`` and ``in``."""

    def __init__(self, view: View) -> None:
        self._view = view

    def __len__(self) -> int:
        return len(self._view.ids)

    def __iter__(self) -> Iterator[str]:
        return map(str, self._view.ids)

    def __contains__(self, key: object) -> bool:
        try:
            exchange_id = int(str(key))
        except ValueError:
            return False
        return exchange_id in self._view


class ExchangeTable(ScrollView, can_focus=True):
    """Every exchange of the store, one row each, rendered only when on screen.

    Call :meth:`sync` with the ids a batch touched and :meth:`drop` with the ids
    the store dropped. Moving the cursor posts :class:`ExchangeTable.Selected`.
    """

    DEFAULT_CSS = """
    ExchangeTable {
        background: $surface;
        color: $foreground;
        & > .exchanges--header {
            text-style: bold;
            background: $panel;
            color: $foreground;
        }
        & > .exchanges--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
        &:focus {
            background-tint: $foreground 5%;
            & > .exchanges--cursor {
                background: $block-cursor-background;
                color: $block-cursor-foreground;
                text-style: $block-cursor-text-style;
            }
            & > .exchanges--header {
                background-tint: $foreground 5%;
            }
        }
    }
    """

    BINDINGS = bindings("exchanges")

    COMPONENT_CLASSES = {
        "exchanges--header",
        "exchanges--cursor",
        "exchanges--open",
        "exchanges--streaming",
        "exchanges--done",
        "exchanges--error",
        "exchanges--client-gone",
        "exchanges--status-ok",
        "exchanges--status-redirect",
        "exchanges--status-client",
        "exchanges--status-server",
        "exchanges--dim",
        "exchanges--reload",
    }

    class Selected(Message):
        """The highlighted exchange changed (``exchange_id`` None: nothing selected)."""

        def __init__(self, exchange_id: int | None) -> None:
            super().__init__()
            self.exchange_id = exchange_id

    def __init__(self, view: View | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.view = view if view is not None else View()
        """The rows, the filter and the focus (the cursor row) this table renders."""
        self._store: Store | None = None
        self._now = 0
        self._cells_cache: dict[int, list[Text]] = {}
        self._strips: dict[tuple[int, bool], Strip] = {}
        self._widths = [len(label) for _, label in COLUMNS]
        self._selected: int | None = None
        self.lines_drawn = 0
        """Row lines drawn by the last refresh: at most the rows on screen."""
        self.on_drawn: Callable[[int], None] | None = None
        """Called with :attr:`lines_drawn` after each refresh (the latency log)."""
        self._drawing = 0
        self._line_style: Style | None = None  # rich_style, during render_lines
        self.finished = False
        """The trace is over (a capture opened, no server): an exchange that had not
        ended shows its time up to the trace's end as "≥", not as running ("…")."""

    # -- the rows --------------------------------------------------------

    @property
    def cursor_row(self) -> int:
        """Index of the highlighted row (the view's focus)."""
        return self.view.cursor

    @cursor_row.setter
    def cursor_row(self, row: int) -> None:
        self.view.cursor = row

    @property
    def requests(self) -> int:
        """Client exchanges (not the server's lifespan), hidden ones included."""
        return self.view.requests

    @property
    def row_filter(self) -> Callable[[Exchange], bool] | None:
        """Which exchanges have a row (None: all); set with :meth:`set_filter`."""
        return self.view.row_filter

    @property
    def row_count(self) -> int:
        """Number of rows (exchanges) in the table."""
        return len(self.view.ids)

    @property
    def rows(self) -> _Rows:
        """The row keys (exchange ids as ``str``), for ``len()`` and ``in``."""
        return _Rows(self.view)

    def get_row_index(self, key: str) -> int:
        """The index of the row of exchange ``key`` (raises KeyError if absent)."""
        try:
            return self.view.index(int(key))
        except KeyError:
            raise KeyError(key) from None

    def get_row_at(self, index: int) -> list[Text]:
        """The cells of row ``index``, as they are shown."""
        return self._cells_of(self.view.ids[index])

    def reset(self) -> None:
        """Remove every row (after the store was cleared)."""
        self.view.reset()
        self._forget()
        self._selected = None
        self._resize()
        self.refresh()
        self.post_message(self.Selected(None))

    def sync(self, store: Store, touched: Iterable[int], now_ns: int) -> bool:
        """Add or update the rows of ``touched`` exchanges; True if rows were added."""
        self._store, self._now = store, now_ns
        synced = self.view.sync(store.exchanges, touched, store.marks)
        if synced.hidden:
            self.drop(synced.hidden)
        for exchange_id in synced.changed:
            self._changed(exchange_id)
        if synced.added:
            self._resize()
        if synced.shifted or self._on_screen(synced.touched):
            self.refresh()
        return synced.added

    def drop(self, exchange_ids: Iterable[int]) -> None:
        """Remove the rows of exchanges the store dropped (the oldest, usually)."""
        gone = set(exchange_ids)
        if not gone:
            return
        self.view.drop(gone)
        for exchange_id in gone:
            self._cells_cache.pop(exchange_id, None)
            self._strips.pop((exchange_id, False), None)
            self._strips.pop((exchange_id, True), None)
        self._resize()
        self._scroll_to_cursor()
        self._post_selected()
        self.refresh()

    def set_filter(
        self, row_filter: Callable[[Exchange], bool] | None, store: Store, now_ns: int
    ) -> None:
        """Show only the exchanges of ``store`` that ``row_filter`` keeps (None: all),
        keeping the selection if it still has a row."""
        self._store, self._now = store, now_ns
        self.view.set_filter(row_filter, store.exchanges, store.marks)
        self._forget()
        self._resize()
        self._scroll_to_cursor()
        self._post_selected()
        self.refresh()

    def tick(self, store: Store, now_ns: int) -> None:
        """Refresh the running duration of exchanges that have not ended."""
        self._store, self._now = store, now_ns
        running = sorted(self.view.unfinished)
        for exchange_id in running:
            exchange = store.exchanges.get(exchange_id)
            if exchange is None or exchange.t_end is not None:
                self.view.unfinished.discard(exchange_id)
            self._changed(exchange_id)
        if self._on_screen(running):
            self.refresh()

    # -- the cursor ------------------------------------------------------

    @property
    def selected_id(self) -> int | None:
        """The id of the highlighted exchange, if any."""
        return self.view.focus

    def select_last(self) -> None:
        """Highlight the newest exchange."""
        if self.view.ids:
            self.move_cursor(row=len(self.view.ids) - 1)

    def move_cursor(self, *, row: int | None = None, **_: object) -> None:
        """Highlight row ``row`` (clamped) and scroll it into view."""
        if row is None:
            return
        old = self.cursor_row
        self.cursor_row = row
        self._clamp_cursor()
        for index in (old, self.cursor_row):
            if 0 <= index < len(self.view.ids):
                self._strips.pop((self.view.ids[index], True), None)
        self._scroll_to_cursor()
        self._post_selected()
        self.refresh()

    def action_cursor_up(self) -> None:
        self.move_cursor(row=self.cursor_row - 1)

    def action_cursor_down(self) -> None:
        self.move_cursor(row=self.cursor_row + 1)

    def action_page_up(self) -> None:
        self.move_cursor(row=self.cursor_row - max(self._visible_rows() - 1, 1))

    def action_page_down(self) -> None:
        self.move_cursor(row=self.cursor_row + max(self._visible_rows() - 1, 1))

    def action_cursor_first(self) -> None:
        self.move_cursor(row=0)

    def action_cursor_last(self) -> None:
        self.move_cursor(row=len(self.view.ids) - 1)

    def on_click(self, event: events.Click) -> None:
        if event.y >= 1:
            self.move_cursor(row=self.scroll_offset.y + event.y - 1)

    def _on_screen(self, exchange_ids: list[int]) -> bool:
        """Whether any of ``exchange_ids`` (ascending) has a row on screen: rows
        that change off screen (a paused table under load) need no redraw."""
        top = self.scroll_offset.y
        shown = self.view.ids[top : top + self._visible_rows()]
        if not shown or not exchange_ids:
            return not shown
        i = bisect_left(exchange_ids, shown[0])
        return i < len(exchange_ids) and exchange_ids[i] <= shown[-1]

    def _clamp_cursor(self) -> None:
        self.view.clamp()

    def _visible_rows(self) -> int:
        return max(self.scrollable_content_region.height - 1, 1)

    def _scroll_to_cursor(self) -> None:
        top = self.scroll_offset.y
        visible = self._visible_rows()
        if self.cursor_row < top:
            self.scroll_to(y=self.cursor_row, animate=False, immediate=True)
        elif self.cursor_row >= top + visible:
            self.scroll_to(y=self.cursor_row - visible + 1, animate=False, immediate=True)

    def _post_selected(self) -> None:
        selected = self.selected_id
        if selected != self._selected:
            self._selected = selected
            self.post_message(self.Selected(selected))

    # -- rendering -------------------------------------------------------

    def _resize(self) -> None:
        # One line for the header, one per row; as wide as the widget (no
        # horizontal scrolling: _strip narrows the path column so the others fit).
        size = Size(self.scrollable_content_region.width, len(self.view.ids) + 1)
        if size == self.virtual_size:
            return
        # Setting virtual_size lays out the whole screen again: under load, with
        # rows added at every drain, a third of the UI's time. More rows change
        # only this widget's scrollbar, so the layout runs only when the
        # scrollbar comes or goes (Textual's own resize does the same, with
        # layout=False).
        had_scrollbar = self.show_vertical_scrollbar
        self.set_reactive(ScrollView.virtual_size, size)
        self._scroll_update(size)  # redraws the scrollbar
        if self.show_vertical_scrollbar != had_scrollbar:
            self.refresh(layout=True)

    def _changed(self, exchange_id: int) -> None:
        self._cells_cache.pop(exchange_id, None)
        self._strips.pop((exchange_id, False), None)
        self._strips.pop((exchange_id, True), None)

    def _forget(self) -> None:
        self._cells_cache.clear()
        self._strips.clear()

    def on_resize(self) -> None:
        self._strips.clear()
        self._resize()
        self._scroll_to_cursor()

    def on_focus(self) -> None:
        self._strips.clear()

    def on_blur(self) -> None:
        self._strips.clear()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._forget()

    def _cells_of(self, exchange_id: int) -> list[Text]:
        cells = self._cells_cache.get(exchange_id)
        if cells is None:
            store = self._store
            exchange = store.exchanges.get(exchange_id) if store is not None else None
            mark = store.marks.get(exchange_id) if store is not None else None
            if mark is not None:
                cells = self._mark_cells(mark)
            elif exchange is None:
                return [Text("") for _ in COLUMNS]
            else:
                cells = self._cells(exchange, self._now)
            if len(self._cells_cache) > 4096:  # only rows on screen matter
                self._cells_cache.clear()
            self._cells_cache[exchange_id] = cells
        return cells

    def render_lines(self, crop: Region) -> list[Strip]:
        self._drawing = 0
        # Read once a redraw, not once a line: rich_style walks the DOM, and under
        # load every row on screen is new at each drain.
        self._line_style = self.rich_style
        try:
            lines = super().render_lines(crop)
        finally:
            self._line_style = None
        self.lines_drawn = self._drawing
        if self.on_drawn is not None:
            self.on_drawn(self._drawing)
        return lines

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        base = self._line_style if self._line_style is not None else self.rich_style
        if y == 0:
            key = (-1, self.has_focus)  # the header
            strip = self._strips.get(key)
            if strip is None or strip.cell_length != width:
                labels = [Text(label) for _, label in COLUMNS]
                style = base + self.get_component_rich_style("exchanges--header")
                strip = self._strips[key] = self._strip(labels, style, width)
            return strip
        index = self.scroll_offset.y + y - 1
        if index >= len(self.view.ids):
            return Strip.blank(width, base)
        self._drawing += 1
        exchange_id = self.view.ids[index]
        cursor = index == self.cursor_row
        key = (exchange_id, cursor)
        strip = self._strips.get(key)
        if strip is None or strip.cell_length != width:
            style = base
            if cursor:
                style += self.get_component_rich_style("exchanges--cursor")
            strip = self._strip(self._cells_of(exchange_id), style, width, cursor)
            if len(self._strips) > 1024:
                self._strips.clear()
            self._strips[key] = strip
        return strip

    def _strip(self, cells: list[Text], base: Style, width: int, cursor: bool = False) -> Strip:
        widths = self._widths
        grew = False
        for i, cell in enumerate(cells):
            if cell.cell_len > widths[i]:
                widths[i] = min(cell.cell_len, MAX_PATH)
                grew = True
        if grew:  # every row drawn so far is now too narrow
            self._strips.clear()
            self.refresh()
        widths = fit_path(widths, width)
        pad = Segment(" " * PADDING, base)
        segments: list[Segment] = []
        console = self.app.console
        for cell, cell_width in zip(cells, widths, strict=True):
            text = cell
            if text.cell_len > cell_width:
                text = text.copy()
                text.truncate(cell_width, overflow="ellipsis")
            space = Segment(" " * (cell_width - text.cell_len), base)
            style = text.style
            if isinstance(style, str):
                style = Style.parse(style) if style else None
            if text.spans:
                parts = list(Segment.apply_style(text.render(console), base))
            else:
                parts = [Segment(text.plain, base + style if style else base)]
            if cursor:  # the cursor's colours win over the cell's
                parts = list(Segment.apply_style(parts, post_style=base))
            segments.append(pad)
            if text.justify == "right":
                segments.append(space)
                segments.extend(parts)
            else:
                segments.extend(parts)
                segments.append(space)
            segments.append(pad)
        return Strip(segments).adjust_cell_length(width, base).simplify()

    def _style(self, name: str) -> Style:
        return self.get_component_rich_style(
            f"exchanges--{name}", partial=True, default=Style.null()
        )

    def _time(self, exchange: Exchange, now_ns: int) -> Text:
        if exchange.duration_ns is not None:
            return Text(fmt_duration(exchange.duration_ns), justify="right")
        running = fmt_duration(max(now_ns - exchange.t_start, 0))
        if self.finished:  # at least this long: the capture ended while it ran
            return Text("≥" + running, self._style("dim"), justify="right")
        return Text(running + "…", self._style("dim"), justify="right")

    @staticmethod
    def _path(exchange: Exchange) -> str:
        if exchange.kind == "lifespan":
            state = exchange.lifespan_state
            if state is None:  # startup not complete (or unsupported)
                return ""
            keys = ", ".join(safe_text(str(key)) for key in state) or "none"
            text = f"state: {keys}"
            return text if len(text) <= MAX_PATH else text[: MAX_PATH - 1] + "…"
        path = safe_text(exchange.path_query)
        return path if len(path) <= MAX_PATH else path[: MAX_PATH - 1] + "…"

    def _cells(self, exchange: Exchange, now_ns: int) -> list[Text]:
        if exchange.kind == "lifespan":
            method = Text("lifespan", self._style("dim"))
        elif exchange.kind == "websocket":
            method = Text("WS")
        else:
            method = Text(safe_text(exchange.method)[:12])
        if exchange.kind == "invalid":
            path = Text(safe_text(exchange.error)[:MAX_PATH], self._style("dim"))
        else:
            path = Text(self._path(exchange))
        status = exchange.status
        status_text = Text("") if status is None else status_cell(status, self._style)
        if exchange.close_code is not None:  # a WebSocket's close code (RFC 6455 §7.4)
            status_text.append(
                f" {safe_repr(exchange.close_code)[:MAX_STATUS]}",
                self._style("dim" if exchange.close_normal else "error"),
            )
        return [
            Text(str(exchange.id), self._style("dim"), justify="right"),
            Text(_conn_label(exchange), justify="right"),
            method,
            path,
            status_text,
            self._time(exchange, now_ns),
            *self._sizes(exchange),
            self._state(exchange),
        ]

    def _mark_cells(self, note: ServerNote) -> list[Text]:
        """A reload's row: ``↻`` and the note's words where the path goes, in the
        reload style across the row; not an exchange, so no id, status or sizes."""
        style = self._style("reload")
        words = safe_text(note.text).removeprefix("↻ ")
        cells = [Text("") for _ in COLUMNS]
        cells[0] = Text("↻", style, justify="right")
        cells[2] = Text("reload", style)
        cells[PATH_COLUMN] = Text(words, style)
        return cells

    def _sizes(self, exchange: Exchange) -> tuple[Text, Text]:
        """The in and out cells: bytes on the wire, or a dim dash when the socket was
        not ours to see (an app traced by the middleware)."""
        if not exchange.raw:
            unknown = Text("–", self._style("dim"), justify="right")
            return unknown, unknown.copy()
        return (
            Text(fmt_bytes(exchange.bytes_in), justify="right"),
            Text(fmt_bytes(exchange.bytes_out), justify="right"),
        )

    def _state(self, exchange: Exchange) -> Text:
        text = Text(exchange.state, self._style(exchange.state.replace(" ", "-")))
        if exchange.violations:  # the spec checker's findings (trace/spec.py)
            text.append(f" ⚠{exchange.violations}", self._style("error"))
        answered = answered_by(exchange)
        if answered:  # a middleware answered, not the endpoint (trace/layer_changes.py)
            text.append(f" ↩ {answered}", self._style("dim"))
        return text


PATH_COLUMN = next(i for i, (key, _) in enumerate(COLUMNS) if key == "path")
MIN_PATH = 10
"""The path column is never narrower than this, however narrow the table."""


def fit_path(widths: list[int], width: int) -> list[int]:
    """Column widths for a table ``width`` cells wide: the path column gives up
    what the others need (down to :data:`MIN_PATH`), so a long path never pushes
    status, time, in, out and state off screen."""
    others = sum(w for i, w in enumerate(widths) if i != PATH_COLUMN)
    room = width - others - 2 * PADDING * len(widths)
    fitted = list(widths)
    fitted[PATH_COLUMN] = min(widths[PATH_COLUMN], max(MIN_PATH, room))
    return fitted


def status_cell(status: Any, style: Callable[[str], Style | str]) -> Text:
    """The status cell: a valid status (100-999) styled by its class; anything
    else an app managed to record (an int too long to print, an int subclass with
    its own ``__repr__``) through :func:`safe_repr`, escaped and bounded."""
    if type(status) is int and 100 <= status <= 999:
        group = {2: "ok", 3: "redirect", 4: "client", 5: "server"}.get(status // 100)
        return Text(str(status), style(f"status-{group}") if group else "")
    return Text(safe_repr(status)[:MAX_STATUS], style("error"))


def _conn_label(exchange: Exchange) -> str:
    """The conn cell: ``3``, ``-`` for the server's own lane, or ``pid·conn`` for an
    exchange attached from another process's stream (``15134·3``, ``15134·-``), or
    ``otel`` for an OpenTelemetry SERVER span (``attach --otlp-listen``)."""
    if exchange.source == "otel":
        return "otel"
    conn = str(exchange.conn) if exchange.conn else "-"
    return f"{exchange.pid}·{conn}" if exchange.pid else conn
