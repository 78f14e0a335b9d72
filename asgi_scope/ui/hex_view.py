"""The Hex tab: offset, hex and ASCII columns of an exchange's raw bytes.

The dump is drawn one line at a time with the Line API (:class:`ScrollView` and
``render_line``): only the lines on screen are ever built, so a 1 MiB body costs
no more to show than a 100-byte request head.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from asgi_scope.trace.events import UpstreamBytes
from asgi_scope.trace.safe import safe_text
from asgi_scope.trace.store import Connection, Exchange
from asgi_scope.trace.summary import fmt_bytes

Highlight = tuple[str, int, int]
"""``(direction, start, end)``: a byte range of ``"in"`` or ``"out"`` to highlight."""

_PRINTABLE = frozenset(range(0x20, 0x7F))


@dataclass(frozen=True, slots=True)
class _Title:
    """One line of prose (a section title or a gap marker)."""

    text: Text

    def rows(self, per_row: int) -> int:
        return 1


@dataclass(frozen=True, slots=True)
class _Run:
    """Contiguous kept bytes of one direction, starting at stream ``offset``."""

    direction: str
    offset: int
    data: bytes

    def rows(self, per_row: int) -> int:
        return -(-len(self.data) // per_row)


def runs(chunks: list[tuple[int, bytes]]) -> list[tuple[int, bytes]]:
    """Merge ``(offset, data)`` chunks that touch into contiguous runs."""
    merged: list[tuple[int, bytearray]] = []
    for offset, data in chunks:
        if merged and merged[-1][0] + len(merged[-1][1]) == offset:
            merged[-1][1].extend(data)
        else:
            merged.append((offset, bytearray(data)))
    return [(offset, bytes(data)) for offset, data in merged]


def _no_raw_bytes(connection: Connection, style: Style) -> list[_Title]:
    """What the Hex tab says for a connection recorded without its raw bytes."""
    who = f"pid {connection.pid}" if connection.pid else "the app's process"
    source = safe_text(connection.source or "stream")  # it came from the stream
    return [
        _Title(Text("Raw bytes are not available for this exchange.", style)),
        _Title(Text("")),
        _Title(Text(f"It was recorded by the asgi-scope {source} in {who}:")),
        _Title(Text("another server owns the socket, so only the scope and the ASGI")),
        _Title(Text("messages were seen (Messages and Scope tabs). Run the app under")),
        _Title(Text("asgi-scope itself, or use `asgi-scope proxy`, to see the bytes.")),
    ]


class HexView(ScrollView, can_focus=True):
    """A hex dump of the exchange's request bytes, then its response bytes."""

    COMPONENT_CLASSES = {
        "hex-view--offset",
        "hex-view--ascii",
        "hex-view--highlight",
        "hex-view--title",
        "hex-view--gap",
    }

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._blocks: list[_Title | _Run] = []
        self._starts: list[int] = []
        self._per_row = 16
        self._offset_width = 4
        self._exchange: Exchange | None = None
        self.highlight: Highlight | None = None
        """The highlighted byte range, if any."""

    # -- data ---------------------------------------------------------------

    def show(self, exchange: Exchange | None, connection: Connection | None) -> None:
        """Dump ``exchange``'s bytes, read from ``connection``'s kept chunks."""
        blocks: list[_Title | _Run] = []
        if exchange is None:
            blocks.append(_Title(Text("No exchange selected.")))
        elif connection is None:
            blocks.append(_Title(Text("No bytes: this exchange never touched a socket.")))
        elif not connection.raw:
            blocks.extend(_no_raw_bytes(connection, self._style("title")))
        else:
            for direction, label, wire in (
                ("in", "request", exchange.wire_in),
                ("out", "response", exchange.wire_out),
            ):
                if blocks:
                    # asgi-scope proxy: the upstream's side, in the order of the flow
                    blocks.extend(self._upstream(exchange))
                    blocks.append(_Title(Text("")))
                blocks.extend(self._section(connection, direction, label, wire))
        if exchange is not self._exchange:
            self._exchange = exchange
            self.highlight = None
            self.scroll_to(0, 0, animate=False)
        self._blocks = blocks
        ends = [b.offset + len(b.data) for b in blocks if isinstance(b, _Run)]
        self._offset_width = max(4, len(str(max(ends, default=0))))
        self._layout()

    def _section(self, connection: Connection, direction: str, label: str, wire):
        title_style = self._style("title")
        if wire is None:
            return [_Title(Text(f"{label}: no bytes yet", title_style))]
        start, end = wire
        verb = "received" if direction == "in" else "sent"
        title = f"{label}: {fmt_bytes(end - start)} {verb}, stream bytes {start}–{end}"
        blocks: list[_Title | _Run] = [_Title(Text(title, title_style))]
        position = start
        for offset, data in runs(connection.slice(direction, wire)):
            if offset > position:
                blocks.append(self._gap(offset - position))
            blocks.append(_Run(direction, offset, data))
            position = offset + len(data)
        if end > position:
            blocks.append(self._gap(end - position))
        return blocks

    def _upstream(self, exchange: Exchange) -> list[_Title | _Run]:
        """The bytes ``asgi-scope proxy`` wrote to and read from the upstream for
        this exchange (:class:`UpstreamBytes`), shown between the client's request and
        response; none otherwise."""
        chunks: dict[str, list[tuple[int, bytes]]] = {"out": [], "in": []}
        sizes = {"out": 0, "in": 0}
        for event in exchange.events:
            if isinstance(event, UpstreamBytes) and event.direction in chunks:
                chunks[event.direction].append((event.offset, event.data))
                sizes[event.direction] = event.offset + event.size
        blocks: list[_Title | _Run] = []
        title_style = self._style("title")
        labels = (("out", "upstream request: {} sent"), ("in", "upstream response: {} received"))
        for direction, label in labels:
            if not chunks[direction]:
                continue
            blocks.append(_Title(Text("")))
            blocks.append(_Title(Text(label.format(fmt_bytes(sizes[direction])), title_style)))
            position = 0
            for offset, data in runs(chunks[direction]):
                if offset > position:
                    blocks.append(self._gap(offset - position))
                blocks.append(_Run(f"upstream-{direction}", offset, data))
                position = offset + len(data)
            if sizes[direction] > position:
                blocks.append(self._gap(sizes[direction] - position))
        return blocks

    def _gap(self, size: int) -> _Title:
        return _Title(Text(f"  … {size} bytes not kept (body cap) …", self._style("gap")))

    def set_highlight(self, highlight: Highlight | None) -> None:
        """Highlight a byte range (a selected message's) and scroll it into view.

        Setting the same range again (the exchange grew) does not scroll, so a
        streaming response never yanks the view away from where the user is.
        """
        changed = highlight != self.highlight
        self.highlight = highlight
        self.refresh()
        if not changed:
            return
        line = self.line_of(highlight) if highlight else None
        if line is not None and not (
            self.scroll_offset.y <= line < self.scroll_offset.y + self.size.height
        ):
            self.scroll_to(y=max(line - 1, 0), animate=False)

    def line_of(self, highlight: Highlight) -> int | None:
        """The line that shows the first byte of ``highlight``, if it is kept."""
        direction, start, _end = highlight
        for index, block in enumerate(self._blocks):
            if (
                isinstance(block, _Run)
                and block.direction == direction
                and block.offset <= start < block.offset + len(block.data)
            ):
                return self._starts[index] + (start - block.offset) // self._per_row
        return None

    # -- layout and lines ---------------------------------------------------

    def _line_width(self, per_row: int) -> int:
        groups = per_row // 8
        return self._offset_width + 2 + per_row * 3 + (groups - 1) + 1 + per_row + 2

    def _layout(self) -> None:
        width = self.scrollable_content_region.width or self.size.width or 80
        self._per_row = 16 if width >= self._line_width(16) else 8
        starts, line = [], 0
        for block in self._blocks:
            starts.append(line)
            line += block.rows(self._per_row)
        self._starts = starts
        self.virtual_size = Size(self._line_width(self._per_row), line)
        self.refresh()

    def on_resize(self) -> None:
        self._layout()

    def _style(self, name: str) -> Style:
        return self.get_component_rich_style(f"hex-view--{name}", partial=True)

    def render_line(self, y: int) -> Strip:
        """Build the one line at ``y`` of the visible region."""
        scroll_x, scroll_y = self.scroll_offset
        line = scroll_y + y
        width = self.scrollable_content_region.width
        base = self.rich_style
        index = bisect_right(self._starts, line) - 1
        if index < 0 or line >= self.virtual_size.height:
            return Strip.blank(width, base)
        block = self._blocks[index]
        if isinstance(block, _Title):
            segments = list(block.text.render(self.app.console, end=""))
            strip = Strip(segments).apply_style(base)
        else:
            strip = self._bytes_line(block, line - self._starts[index], base)
        return strip.crop_extend(scroll_x, scroll_x + width, base)

    def _bytes_line(self, run: _Run, row: int, base: Style) -> Strip:
        per_row = self._per_row
        first = run.offset + row * per_row
        chunk = run.data[row * per_row : (row + 1) * per_row]
        marked = base + self._style("highlight")
        low = high = -1
        if self.highlight and self.highlight[0] == run.direction:
            low, high = self.highlight[1], self.highlight[2]
        segments = [
            Segment(f"{first:>{self._offset_width}}", base + self._style("offset")),
            Segment("  ", base),
        ]
        ascii_style = base + self._style("ascii")
        ascii_segments = [Segment("|", base)]
        for index in range(per_row):
            if index and index % 8 == 0:
                segments.append(Segment(" ", base))
            if index >= len(chunk):
                segments.append(Segment("   ", base))
                continue
            byte = chunk[index]
            on = low <= first + index < high
            joined = on and index + 1 < len(chunk) and first + index + 1 < high
            segments.append(Segment(f"{byte:02x}", marked if on else base))
            segments.append(Segment(" ", marked if joined and (index + 1) % 8 else base))
            char = chr(byte) if byte in _PRINTABLE else "."
            ascii_segments.append(Segment(char, marked if on else ascii_style))
        ascii_segments.append(Segment("|", base))
        segments.append(Segment(" ", base))
        return Strip(segments + ascii_segments)
