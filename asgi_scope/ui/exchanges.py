"""The live table of exchanges: one row per request, WebSocket session or lifespan."""

from __future__ import annotations

from collections.abc import Iterable

from rich.style import Style
from rich.text import Text
from textual._two_way_dict import TwoWayDict
from textual.coordinate import Coordinate
from textual.message import Message
from textual.widgets import DataTable
from textual.widgets.data_table import CellKey

from asgi_scope.trace.safe import safe_text
from asgi_scope.trace.store import Exchange, Store
from asgi_scope.trace.summary import fmt_bytes, fmt_duration

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


class ExchangeTable(DataTable):
    """Every exchange of the store, updated in place as events arrive.

    Call :meth:`sync` with the ids a batch touched; only those rows are rebuilt.
    Highlighting a row posts :class:`ExchangeTable.Selected`.
    """

    COMPONENT_CLASSES = DataTable.COMPONENT_CLASSES | {
        "exchanges--open",
        "exchanges--streaming",
        "exchanges--done",
        "exchanges--error",
        "exchanges--status-ok",
        "exchanges--status-redirect",
        "exchanges--status-client",
        "exchanges--status-server",
        "exchanges--dim",
    }

    class Selected(Message):
        """The highlighted exchange changed (``exchange_id`` None: nothing selected)."""

        def __init__(self, exchange_id: int | None) -> None:
            super().__init__()
            self.exchange_id = exchange_id

    def __init__(self, **kwargs) -> None:
        super().__init__(cursor_type="row", zebra_stripes=False, **kwargs)
        self._unfinished: set[int] = set()
        self._cells_shown: dict[str, list[Text]] = {}
        self.requests = 0
        """Rows that are client exchanges (not the server's lifespan)."""

    def on_mount(self) -> None:
        for key, label in COLUMNS:
            self.add_column(label, key=key)

    def reset(self) -> None:
        """Remove every row (after the store was cleared)."""
        self.clear()
        self._unfinished.clear()
        self._cells_shown.clear()
        self.requests = 0
        self.post_message(self.Selected(None))

    def sync(self, store: Store, touched: Iterable[int], now_ns: int) -> bool:
        """Add or update the rows of ``touched`` exchanges; True if rows were added."""
        added = False
        for exchange_id in sorted(touched):
            exchange = store.exchanges.get(exchange_id)
            if exchange is None:
                continue
            cells = self._cells(exchange, now_ns)
            key = str(exchange_id)
            shown = self._cells_shown.get(key)
            if shown is not None:
                columns = self.columns
                for (column, _label), cell, old in zip(COLUMNS, cells, shown, strict=True):
                    if cell != old:  # each update redraws
                        # Widen a column that is too narrow; never re-measure one for
                        # a narrower cell (DataTable then measures the whole column).
                        wider = cell.cell_len > columns[column].content_width
                        self.update_cell(key, column, cell, update_width=wider)
                self._cells_shown[key] = cells
            else:
                self.add_row(*cells, key=key)
                self._cells_shown[key] = cells
                added = True
                if exchange.conn:
                    self.requests += 1
            if exchange.t_end is None:
                self._unfinished.add(exchange_id)
            else:
                self._unfinished.discard(exchange_id)
        return added

    def drop(self, exchange_ids: Iterable[int]) -> None:
        """Remove the rows of exchanges the store dropped, in one pass.

        ``DataTable.remove_row`` renumbers every row for each row it removes; the
        store drops hundreds of exchanges a second under load, from a table of
        thousands, so the rows are renumbered once here instead.
        """
        gone = set(map(str, exchange_ids))
        self._unfinished.difference_update(map(int, gone))
        gone &= self._cells_shown.keys()
        if not gone:
            return
        for key in gone:
            del self._cells_shown[key]
        selected = self.selected_id
        row = self.cursor_row
        locations: TwoWayDict = TwoWayDict({})
        index = removed_before = 0
        for row_key in list(self.rows):  # insertion order: the table is never sorted
            if row_key.value in gone:
                for column_key in self._data[row_key]:
                    self._updated_cells.discard(CellKey(row_key, column_key))
                del self.rows[row_key]
                del self._data[row_key]
                if index < row:
                    removed_before += 1
                continue
            locations[row_key] = index
            index += 1
        self._row_locations = locations
        self._require_update_dimensions = True
        self._update_count += 1
        still = locations.get(str(selected)) if selected is not None else None
        row = still if still is not None else max(row - removed_before, 0)
        self.cursor_coordinate = Coordinate(min(row, max(self.row_count - 1, 0)), 0)
        self.hover_coordinate = self.hover_coordinate
        self.refresh(layout=True)

    def tick(self, store: Store, now_ns: int) -> None:
        """Refresh the running duration of exchanges that have not ended."""
        for exchange_id in list(self._unfinished):
            exchange = store.exchanges.get(exchange_id)
            if exchange is None or exchange.t_end is not None:
                self._unfinished.discard(exchange_id)
                continue
            self.update_cell(str(exchange_id), "time", self._time(exchange, now_ns))

    @property
    def selected_id(self) -> int | None:
        """The id of the highlighted exchange, if any."""
        if not self.row_count:
            return None
        row_key, _ = self.coordinate_to_cell_key(self.cursor_coordinate)
        return int(row_key.value) if row_key.value is not None else None

    def select_last(self) -> None:
        """Highlight the newest exchange."""
        if self.row_count:
            self.move_cursor(row=self.row_count - 1)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        self.post_message(self.Selected(int(event.row_key.value)))

    def _style(self, name: str) -> Style:
        return self.get_component_rich_style(
            f"exchanges--{name}", partial=True, default=Style.null()
        )

    def _time(self, exchange: Exchange, now_ns: int) -> Text:
        if exchange.duration_ns is not None:
            return Text(fmt_duration(exchange.duration_ns), justify="right")
        running = fmt_duration(max(now_ns - exchange.t_start, 0))
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
        path = safe_text(exchange.path)
        query = exchange.scope.get("query_string") if exchange.scope else None
        if isinstance(query, bytes) and query:
            path += "?" + safe_text(query.decode("latin-1"))
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
        if status is None:
            status_text = Text("")
        else:
            group = {2: "ok", 3: "redirect", 4: "client", 5: "server"}.get(status // 100)
            status_text = Text(str(status), self._style(f"status-{group}") if group else "")
        if exchange.close_code is not None:  # a WebSocket's close code (RFC 6455 §7.4)
            normal = exchange.close_code in (1000, 1001, 1005)
            status_text.append(f" {exchange.close_code}", self._style("dim" if normal else "error"))
        return [
            Text(str(exchange.id), self._style("dim"), justify="right"),
            Text(str(exchange.conn) if exchange.conn else "-", justify="right"),
            method,
            path,
            status_text,
            self._time(exchange, now_ns),
            Text(fmt_bytes(exchange.bytes_in), justify="right"),
            Text(fmt_bytes(exchange.bytes_out), justify="right"),
            Text(exchange.state, self._style(exchange.state)),
        ]
