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
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from asgi_scope.trace.events import UpstreamBytes
from asgi_scope.trace.framing import PART_NAMES, Part, parts
from asgi_scope.trace.safe import safe_text
from asgi_scope.trace.store import Connection, Exchange
from asgi_scope.trace.summary import fmt_bytes
from asgi_scope.ui.actions import bindings

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
    if connection.source == "otel":
        return [
            _Title(Text("Raw bytes are not available for this exchange.", style)),
            _Title(Text("")),
            _Title(Text("It was received from OpenTelemetry (an OTLP SERVER span):")),
            _Title(Text("spans carry no bytes, and no scope: the Scope tab shows the")),
            _Title(Text("span's attributes, the Messages tab its child spans and logs.")),
        ]
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
    """A hex dump of the exchange's request bytes, then its response bytes.

    Bytes are coloured by the part of the message they are (trace/framing.py: head,
    chunk size, chunk data, last chunk, trailers). A byte cursor (arrows; ``[`` and
    ``]`` jump by part) says which part it is in and posts :class:`CursorMoved`, so
    the pane can select the message the byte came from or became.
    """

    BINDINGS = bindings("hex")

    COMPONENT_CLASSES = {
        "hex-view--offset",
        "hex-view--ascii",
        "hex-view--highlight",
        "hex-view--title",
        "hex-view--gap",
        "hex-view--cursor",
        "hex-view--part-head",
        "hex-view--part-interim",
        "hex-view--part-body",
        "hex-view--part-chunk-size",
        "hex-view--part-chunk-data",
        "hex-view--part-chunk-end",
        "hex-view--part-last-chunk",
        "hex-view--part-trailers",
        "hex-view--part-frames",
    }

    class CursorMoved(Message):
        """The byte cursor is on stream ``offset`` of ``direction`` (``"in"``/``"out"``)."""

        def __init__(self, direction: str, offset: int) -> None:
            super().__init__()
            self.direction = direction
            self.offset = offset

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._blocks: list[_Title | _Run] = []
        self._starts: list[int] = []
        self._per_row = 16
        self._offset_width = 4
        self._exchange: Exchange | None = None
        self.highlight: Highlight | None = None
        """The highlighted byte range, if any."""
        self.cursor: tuple[str, int] | None = None
        """The byte cursor: ``(direction, stream offset)``, once the user moves it."""
        self._parts: dict[str, list[Part]] = {}
        self._part_starts: dict[str, list[int]] = {}

    # -- data ---------------------------------------------------------------

    def show(self, exchange: Exchange | None, connection: Connection | None) -> None:
        """Dump ``exchange``'s bytes, read from ``connection``'s kept chunks."""
        blocks: list[_Title | _Run] = []
        self._parts, self._part_starts = {}, {}
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
            self.cursor = None
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
        kept = runs(connection.slice(direction, wire))
        if kept and kept[0][0] == start:  # the head is kept: name the parts
            found = parts(kept[0][1], start)
            self._parts[direction] = found
            self._part_starts[direction] = [p.start for p in found]
            blocks.append(_Title(self._legend(found)))
        position = start
        for offset, data in kept:
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

    def _legend(self, found: list[Part]) -> Text:
        """One line naming the part kinds present, each in its colour."""
        kinds = [k for k in PART_NAMES if any(p.kind == k for p in found)]
        text = Text("  ")
        for index, kind in enumerate(kinds):
            if index:
                text.append(" · ", self._style("offset"))
            text.append(PART_NAMES[kind], self._style(f"part-{kind}"))
        text.append("   (arrows: byte cursor; [ ]: parts)", self._style("offset"))
        return text

    def part_at(self, direction: str, offset: int) -> Part | None:
        """The part of the message that byte ``offset`` of ``direction`` is in."""
        starts = self._part_starts.get(direction)
        if not starts:
            return None
        index = bisect_right(starts, offset) - 1
        if index < 0:
            return None
        part = self._parts[direction][index]
        return part if part.start <= offset < part.end else None

    # -- the byte cursor ----------------------------------------------------

    def _kept_offsets(self) -> list[tuple[str, int, int]]:
        """``(direction, start, end)`` of each kept run, in display order."""
        return [
            (b.direction, b.offset, b.offset + len(b.data))
            for b in self._blocks
            if isinstance(b, _Run) and b.direction in ("in", "out") and b.data
        ]

    def _place(self, direction: str, offset: int) -> None:
        self.cursor = (direction, offset)
        line = self.line_of((direction, offset, offset + 1))
        if line is not None and not (
            self.scroll_offset.y <= line < self.scroll_offset.y + self.size.height
        ):
            self.scroll_to(y=max(line - 1, 0), animate=False)
        self.refresh()
        self.post_message(self.CursorMoved(direction, offset))

    def action_cursor(self, step: int) -> None:
        """Move the byte cursor ``step`` bytes, across runs and directions."""
        spans = self._kept_offsets()
        if not spans:
            return
        if self.cursor is None:
            start = self.highlight if self.highlight else None
            direction, offset = (start[0], start[1]) if start else (spans[0][0], spans[0][1])
            self._place(direction, offset)
            return
        flat = [(d, s, e) for d, s, e in spans]
        direction, offset = self.cursor
        index = next(
            (i for i, (d, s, e) in enumerate(flat) if d == direction and s <= offset < e), 0
        )
        offset += step
        while not (flat[index][1] <= offset < flat[index][2]):
            if offset < flat[index][1]:
                if index == 0:
                    offset = flat[0][1]
                    break
                index -= 1
                offset = flat[index][2] - 1
            else:
                if index == len(flat) - 1:
                    offset = flat[index][2] - 1
                    break
                index += 1
                offset = flat[index][1]
        self._place(flat[index][0], offset)

    def action_cursor_row(self, step: int) -> None:
        """Move the byte cursor a row up or down."""
        self.action_cursor(step * self._per_row)

    def action_part(self, step: int) -> None:
        """Jump the cursor to the start of the next (``step`` 1) or previous part."""
        if self.cursor is None:
            self.action_cursor(0)
            return
        order = {"in": 0, "out": 1}
        keys = [(order[d], p.start, d) for d in ("in", "out") for p in self._parts.get(d, [])]
        if not keys:
            return
        direction, offset = self.cursor
        here = (order.get(direction, 0), offset, direction)
        current = max(bisect_right(keys, here) - 1, 0)
        at_start = keys[current][1] == offset
        target = current + 1 if step > 0 else current - (1 if at_start else 0)
        _, start, to = keys[min(max(target, 0), len(keys) - 1)]
        self._place(to, start)

    def _gap(self, size: int) -> _Title:
        return _Title(Text(f"  … {size} bytes not kept (body cap) …", self._style("gap")))

    def set_highlight(self, highlight: Highlight | None, scroll: bool = True) -> None:
        """Highlight a byte range (a selected message's) and scroll it into view.

        Setting the same range again (the exchange grew) does not scroll, so a
        streaming response never yanks the view away from where the user is.
        """
        changed = highlight != self.highlight
        self.highlight = highlight
        self.refresh()
        if not changed or not scroll:
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
        cursor = -1
        if self.cursor is not None and self.cursor[0] == run.direction:
            cursor = self.cursor[1]
        part_style = self._part_styles(run.direction, first, len(chunk), base)
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
            style = marked if on else part_style[index] if part_style else base
            if first + index == cursor:
                style = style + self._style("cursor")
            segments.append(Segment(f"{byte:02x}", style))
            segments.append(Segment(" ", marked if joined and (index + 1) % 8 else base))
            char = chr(byte) if byte in _PRINTABLE else "."
            ascii_style_here = style if first + index == cursor else ascii_style
            ascii_segments.append(Segment(char, marked if on else ascii_style_here))
        ascii_segments.append(Segment("|", base))
        segments.append(Segment(" ", base))
        if first <= cursor < first + len(chunk):
            part = self.part_at(run.direction, cursor)
            if part is not None:
                name = PART_NAMES[part.kind] + (f" {part.index}" if part.index else "")
                ascii_segments.append(
                    Segment(f"  ◂ {name} @{cursor}", base + self._style("offset"))
                )
        return Strip(segments + ascii_segments)

    def _part_styles(self, direction: str, first: int, count: int, base: Style) -> list[Style]:
        """The style of each of ``count`` bytes from ``first``, by message part."""
        if direction not in self._parts:
            return []
        styles = []
        for offset in range(first, first + count):
            part = self.part_at(direction, offset)
            styles.append(base + self._style(f"part-{part.kind}") if part else base)
        return styles
