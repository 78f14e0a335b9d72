"""The Sequence tab: an exchange (or its whole connection) as a sequence diagram.

Three lanes, client, server and app, and one arrow per step in time order:
bytes between client and server (runs of writes with no message between them
drawn as one arrow), the scope and messages between server and app, WebSocket
frames, what the app raised and the spec checker's findings. The left column is
the time since the exchange began; a pause of a noticeable share of the
exchange gets a row of its own (``┆ 300 ms``), and the head of the diagram
names the phases a teacher points at: the request read, the app's time to
``http.response.start``, the time to the first response byte, the body's
transfer.

It is drawn as plain ``Text`` sized to the pane: lanes spread over the width
(80 columns and up), arrow labels cut to fit between their lanes. Everything
from the network or the app passes through the shared summaries, which escape it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rich.style import Style
from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from asgi_scope.trace import present
from asgi_scope.trace.events import (
    BytesReceived,
    BytesSent,
    Event,
    LayerEntered,
    LayerReceived,
    LayerSent,
    MessageSent,
    ScopeCreated,
    WebSocketFrame,
)
from asgi_scope.trace.layer_changes import LAYER_EVENTS, changes, visits
from asgi_scope.trace.safe import safe_bytes, safe_text
from asgi_scope.trace.store import Exchange, Store
from asgi_scope.trace.summary import fmt_bytes, fmt_duration, message_type
from asgi_scope.ui.actions import bindings

TIME = 11
"""Cells of the time column."""

CLIENT, SERVER, APP = 0, 1, 2
LANES = ("client", "server", "app")

GAP_SHARE = 0.1
"""A pause longer than this share of the exchange (and 1 ms) gets a row of its own."""


@dataclass(frozen=True, slots=True)
class Step:
    """One row: an arrow from lane ``src`` to ``dst`` (equal: a mark on one lane)
    at ``t_ns``, with a safe ``label`` and a style name."""

    t_ns: int
    src: int
    dst: int
    label: str
    style: str


def _bytes_label(data: bytes, size: int, writes: int) -> str:
    head = data[:5] == b"HTTP/" or b" HTTP/1." in data.split(b"\r\n", 1)[0]
    first = data.split(b"\r\n", 1)[0][:40] if head else b""
    text = fmt_bytes(size)
    if writes > 1:
        text += f" in {writes} writes"
    if first:
        text = f"{text}: {safe_bytes(first)}"
    return text


Lane = tuple[int, str]
"""A middleware layer drawn as a lane: ``(depth, name)`` (trace/layers.py)."""


def layer_lanes(events: Sequence[Event]) -> list[Lane]:
    """The layers of one exchange's ``events`` drawn as lanes after the server's:
    the outermost, the innermost reached, and every layer that changed the
    request or the response or answered it (trace/layer_changes.py); layers
    that passed them on unchanged (adding scope keys at most) are left out,
    their arrows drawn across them. Empty without layer events."""
    layers = visits(list(events))
    if not layers:
        return []
    changed = {c.depth for c in changes(list(events)) if c.kind != "scope"}
    keep = {0, layers[-1].depth} | changed
    return [(visit.depth, visit.layer) for visit in layers if visit.depth in keep]


def _short(message: object) -> str:
    """A message's label on a layer arrow, where lanes are close together:
    ``start 200``, ``body 2.0 KiB``, ``request 5 B``."""
    kind = message_type(message)
    if not isinstance(message, dict):
        return kind
    if kind == "http.response.start":
        return f"start {safe_text(str(message.get('status')))}"
    body = message.get("body", b"")
    n = len(body) if isinstance(body, (bytes, str)) else 0
    size = f"{n}B" if n < 1024 else f"{n / 1024:.1f}K"
    if kind == "http.response.body":
        return f"body {size}"
    if kind == "http.request":
        return f"request {size}"
    return kind.removeprefix("websocket.")


def _layer_step(event: Event, lane: dict[int, int]) -> Step | None:
    """The arrow of a layer event between its layer's lane and the lane above it,
    or None when its layer is not drawn (or it is the outermost layer's call,
    which the server's scope arrow draws)."""
    depth = event.depth  # type: ignore[attr-defined]
    me = lane.get(depth)
    if me is None or depth == 0:
        return None
    up = max((lane[d] for d in lane if d < depth), default=SERVER)
    kind = type(event)
    if kind is LayerEntered:
        return Step(event.t_ns, up, me, "call", "in")
    if kind is LayerReceived:
        return Step(event.t_ns, up, me, _short(event.message), "in")  # type: ignore[attr-defined]
    if kind is LayerSent:
        return Step(event.t_ns, me, up, _short(event.message), "out")  # type: ignore[attr-defined]
    if event.outcome == "error":  # type: ignore[attr-defined]
        return Step(event.t_ns, me, up, f"raised {safe_text(event.exc_type)}", "error")  # type: ignore[attr-defined]
    return Step(event.t_ns, me, up, "returned", "dim")


def steps(events: Iterable[Event], kind: str = "http", lanes: Sequence[Lane] = ()) -> list[Step]:
    """The rows of the diagram for ``events`` (an exchange's, or a connection's, in
    ``seq`` order). Consecutive byte events in one direction are merged. With
    ``lanes`` (:func:`layer_lanes`), the app lane is the outermost layer's and
    each drawn layer has a lane after it; layer events of other layers are left out."""
    out: list[Step] = []
    run: list[BytesReceived | BytesSent] = []
    lane = {depth: APP + i for i, (depth, _) in enumerate(lanes)}

    def flush() -> None:
        if not run:
            return
        first = run[0]
        size = sum(e.size for e in run)
        label = _bytes_label(first.data, size, len(run))
        if isinstance(first, BytesReceived):
            out.append(Step(first.t_ns, CLIENT, SERVER, label, "bytes"))
        else:
            out.append(Step(first.t_ns, SERVER, CLIENT, label, "bytes"))
        run.clear()

    framed = False  # a WebSocket after its handshake: frames say more than bytes
    for event in events:
        if isinstance(event, (BytesReceived, BytesSent)):
            if framed:
                continue
            if run and type(run[-1]) is not type(event):
                flush()
            run.append(event)
            continue
        flush()
        if type(event) in LAYER_EVENTS:
            layered = _layer_step(event, lane)
            if layered is not None:
                out.append(layered)
            continue
        framed = framed or type(event) is WebSocketFrame
        step = present.of(event).step(event)
        if step is not None:
            src, dst, label, style = step
            out.append(Step(event.t_ns, LANES.index(src), LANES.index(dst), label, style))
    flush()
    return out


def phases(events: Sequence[Event]) -> list[tuple[str, int]]:
    """``(name, nanoseconds)`` of the phases a teacher points at, where they apply:
    ``request`` (first request byte to the scope), ``app`` (scope to
    ``http.response.start`` or ``websocket.accept``), ``first byte`` (first request
    byte to first response byte), ``body`` (first to last response byte), ``total``."""
    first_in = next((e.t_ns for e in events if isinstance(e, BytesReceived)), None)
    scope = next((e.t_ns for e in events if isinstance(e, ScopeCreated)), None)
    start = next(
        (
            e.t_ns
            for e in events
            if isinstance(e, MessageSent)
            and isinstance(e.message, dict)
            and e.message.get("type") in ("http.response.start", "websocket.accept")
        ),
        None,
    )
    sent = [e.t_ns for e in events if isinstance(e, BytesSent)]
    out = []
    if first_in is not None and scope is not None:
        out.append(("request", scope - first_in))
    if scope is not None and start is not None:
        out.append(("app", start - scope))
    if first_in is not None and sent:
        out.append(("first byte", sent[0] - first_in))
    if len(sent) > 1:
        out.append(("body", sent[-1] - sent[0]))
    if events:
        t0 = first_in if first_in is not None else events[0].t_ns
        out.append(("total", events[-1].t_ns - t0))
    return out


def exchange_events(store: Store, exchange: Exchange) -> list[Event]:
    """The exchange's events plus the bytes it received (the store keeps those on
    the connection), in ``seq`` order."""
    received = [
        e
        for e in store.events
        if isinstance(e, BytesReceived) and e.exchange == exchange.id and e.conn == exchange.conn
    ]
    return sorted([*exchange.events, *received], key=lambda e: e.seq)


def connection_events(store: Store, conn: int) -> list[Event]:
    """Every event of connection ``conn`` the store still holds, in ``seq`` order."""
    return [e for e in store.events if e.conn == conn]


class Diagram:
    """Lays out :class:`Step` rows in ``width`` cells with styles from ``style``,
    one lane per name of ``names`` (client, server, app, or the app's layers),
    spread evenly."""

    def __init__(self, width: int, style: dict[str, Style], names: Sequence[str] = LANES) -> None:
        self.width = max(width, 60)
        self.style = style
        self.names = list(names)
        span = self.width - TIME - 4
        last = len(self.names) - 1
        self.x = tuple(TIME + 2 + span * i // last for i in range(last + 1))

    def _lanes(self) -> list[str]:
        cells = [" "] * (self.width)
        for x in self.x:
            cells[x] = "│"
        return cells

    def header(self) -> Text:
        """The lanes' names, centred on them; more than three lanes take two rows,
        every other name on the second, so that long layer names have room."""
        rows = 1 if len(self.names) <= 3 else 2
        room = (self.x[1] - self.x[0]) * rows - 1
        text = Text()
        for row in range(rows):
            cells = [" "] * self.width
            for i in range(row, len(self.names), rows):
                name = _cut(_lane_name(self.names[i]), room)
                x = self.x[i]
                start = min(max(x - len(name) // 2, TIME), self.width - len(name))
                cells[start : start + len(name)] = name
            text.append("".join(cells).rstrip() + "\n", self.style["title"])
        return text

    def row(self, time: str, step: Step) -> Text:
        cells = self._lanes()
        a, b = self.x[step.src], self.x[step.dst]
        label = step.label
        last = len(self.x) - 1
        if a == b:  # a mark on one lane, its label beside it (left of the last lane)
            mark = label[:1]
            text = label[1:].strip()
            cells[a] = mark
            room = (a - self.x[last - 1] - 2) if step.src == last else (self.width - a - 2)
            text = _cut(text, max(room, 8))
            start = a - 1 - len(text) if step.src == last else a + 2
            start = max(start, TIME)
            cells[start : start + len(text)] = text
            span = (min(a, start), max(a + 1, start + len(text)))
        else:
            lo, hi = min(a, b), max(a, b)
            for x in range(lo + 1, hi):
                cells[x] = "─"
            if b > a:
                cells[hi - 1] = "▶"
            else:
                cells[lo + 1] = "◀"
            room = hi - lo - 5
            text = _cut(label, max(room, 1))
            start = lo + 2 + max((room - len(text)) // 2, 0) + (0 if b > a else 1)
            cells[start - 1] = " "
            cells[start : start + len(text)] = text
            cells[start + len(text)] = " "
            span = (lo + 1, hi)
        line = Text()
        line.append(time.rjust(TIME - 1) + " ", self.style["time"])
        body = "".join(cells)
        line.append(body[TIME : span[0]], self.style["lane"])
        line.append(body[span[0] : span[1]], self.style[step.style])
        line.append(body[span[1] :].rstrip(), self.style["lane"])
        line.append("\n")
        return line

    def gap(self, pause: str) -> Text:
        cells = [" "] * self.width
        for x in self.x:
            cells[x] = "┆"
        line = Text()
        line.append(pause.rjust(TIME - 1) + " ", self.style["gap"])
        line.append("".join(cells)[TIME:].rstrip() + "\n", self.style["lane"])
        return line


def _lane_name(name: str) -> str:
    """A lane's name: a layer's class name without its ``Middleware`` ending."""
    short = name.removesuffix("Middleware")
    return short if short else name


def _cut(text: str, room: int) -> str:
    return text if len(text) <= room else text[: max(room - 1, 0)] + "…"


def draw(
    events: Sequence[Event],
    width: int,
    style: dict[str, Style],
    title: str,
    layered: bool = False,
) -> Text:
    """The whole diagram for ``events`` as safe ``Text``, ``width`` cells wide;
    ``layered`` (one exchange's events): a lane per middleware layer that changed
    something (:func:`layer_lanes`)."""
    text = Text(no_wrap=True, overflow="crop")
    text.append(title + "\n", style["title"])
    if not events:
        return text
    marks = phases(events)
    line = " · ".join(f"{name} {fmt_duration(ns)}" for name, ns in marks)
    text.append(_cut(line, width) + "\n\n", style["time"])
    lanes = layer_lanes(events) if layered else []
    names = [*LANES[:APP], *(safe_text(name) for _, name in lanes)] if lanes else LANES
    diagram = Diagram(width, style, names)
    text.append_text(diagram.header())
    rows = steps(events, lanes=lanes)
    if not rows:
        return text
    t0 = rows[0].t_ns
    total = max(rows[-1].t_ns - t0, 1)
    previous = t0
    for step in rows:
        pause = step.t_ns - previous
        if pause >= 1_000_000 and pause >= GAP_SHARE * total:
            text.append_text(diagram.gap(fmt_duration(pause)))
        text.append_text(diagram.row("+" + fmt_duration(step.t_ns - t0), step))
        previous = step.t_ns
    text.rstrip()
    return text


class SequenceView(VerticalScroll, can_focus=True):
    """The Sequence tab. ``a`` switches between the exchange and its connection."""

    BINDINGS = bindings("sequence")

    COMPONENT_CLASSES = {
        "sequence--title",
        "sequence--time",
        "sequence--lane",
        "sequence--bytes",
        "sequence--in",
        "sequence--out",
        "sequence--error",
        "sequence--dim",
        "sequence--gap",
    }

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._store: Store | None = None
        self._exchange: Exchange | None = None
        self.whole_connection = False
        """Whether the diagram shows every exchange of the connection."""

    def compose(self):
        yield Static(id="sequence-text")

    def show(self, store: Store | None, exchange: Exchange | None) -> None:
        """Draw ``exchange`` of ``store`` (or its connection)."""
        self._store, self._exchange = store, exchange
        self._redraw()

    def on_resize(self) -> None:
        self._redraw()

    def action_toggle_connection(self) -> None:
        """Switch between the selected exchange and its whole connection."""
        self.whole_connection = not self.whole_connection
        self._redraw()

    def render_sequence(self) -> Text:
        """The diagram as safe ``Text``, sized to the current width."""
        store, exchange = self._store, self._exchange
        style = {
            name: self.get_component_rich_style(f"sequence--{name}", partial=True)
            for name in ("title", "time", "lane", "bytes", "in", "out", "error", "dim", "gap")
        }
        if store is None or exchange is None:
            return Text("No exchange selected.", style["dim"])
        width = max((self.scrollable_content_region.width or 80) - 1, 60)
        if self.whole_connection and exchange.conn:
            events = connection_events(store, exchange.conn)
            title = f"connection {exchange.conn}, every exchange (a: this exchange only)"
        else:
            events = exchange_events(store, exchange)
            what = "lifespan" if exchange.kind == "lifespan" else f"exchange {exchange.id}"
            title = f"{what} on connection {exchange.conn or '-'} (a: the whole connection)"
        return draw(events, width, style, title, layered=not self.whole_connection)

    def _redraw(self) -> None:
        if self.is_mounted:
            self.query_one("#sequence-text", Static).update(self.render_sequence())
