"""The Body tab: the request and the response bodies, decoded and read by their
media type, side by side on a wide terminal (at least :data:`WIDE` columns),
one above the other otherwise; ``v`` shows the raw bytes as kept instead.

Decoding and parsing live in :mod:`asgi_scope.trace.content`; this module only
turns their results into Rich ``Text``, every untrusted string through
:func:`~asgi_scope.trace.safe.safe_text`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Container, VerticalScroll
from textual.widgets import Static

from asgi_scope.trace import content
from asgi_scope.trace.content import Content
from asgi_scope.trace.flow import Flow, Headers, flow_of
from asgi_scope.trace.safe import safe_bytes, safe_text
from asgi_scope.trace.store import Exchange, Store
from asgi_scope.trace.summary import fmt_bytes
from asgi_scope.ui.actions import bindings
from asgi_scope.ui.render import (
    STYLE_BYTES,
    STYLE_CONST,
    STYLE_CUT,
    STYLE_KEY,
    STYLE_NUMBER,
    STYLE_PUNCT,
    STYLE_STR,
)

WIDE = 160
"""Columns from which request and response stand side by side."""

MAX_SHOWN = 64 * 1024
"""Characters (text) or bytes (hex) of one body drawn; the rest is counted."""

STYLE_HEAD = "bold"
STYLE_NOTE = "dim"
STYLE_ERROR = "bold red"


def _cut_note(text: Text, more: int, unit: str) -> None:
    if more > 0:
        text.append(f"\n… {more:,} more {unit} (the view stops here; search reads all)", STYLE_CUT)


class _Full(Exception):
    """The view's budget of characters is spent."""


def json_text(value: Any, limit: int = MAX_SHOWN) -> Text:
    """Parsed JSON as indented, coloured, safe ``Text`` (keys bold, strings green,
    numbers cyan, ``true``/``false``/``null`` italic), two spaces a level; cut
    after about ``limit`` characters (a large document stays quick to draw)."""
    text = Text()
    try:
        _json(text, value, 0, limit)
    except (_Full, RecursionError):
        text.append("\n… cut here (the view stops; search reads all, v shows it raw)", STYLE_CUT)
    return text


def _json(text: Text, value: Any, depth: int, limit: int) -> None:
    if len(text) > limit:
        raise _Full
    pad = "  " * (depth + 1)
    if isinstance(value, dict) and value:
        text.append("{\n", STYLE_PUNCT)
        for index, (key, item) in enumerate(value.items()):
            text.append(pad)
            text.append(safe_text(content.pretty_json(key)), STYLE_KEY)
            text.append(": ", STYLE_PUNCT)
            _json(text, item, depth + 1, limit)
            text.append(",\n" if index < len(value) - 1 else "\n", STYLE_PUNCT)
        text.append("  " * depth + "}", STYLE_PUNCT)
    elif isinstance(value, list) and value:
        text.append("[\n", STYLE_PUNCT)
        for index, item in enumerate(value):
            text.append(pad)
            _json(text, item, depth + 1, limit)
            text.append(",\n" if index < len(value) - 1 else "\n", STYLE_PUNCT)
        text.append("  " * depth + "]", STYLE_PUNCT)
    elif isinstance(value, str):
        text.append(safe_text(content.pretty_json(value)), STYLE_STR)
    elif value is None or isinstance(value, bool):
        text.append(content.pretty_json(value), STYLE_CONST)
    elif isinstance(value, (int, float)):
        text.append(content.pretty_json(value), STYLE_NUMBER)
    else:  # an empty dict or list
        text.append(content.pretty_json(value), STYLE_PUNCT)


def table_text(rows: list[tuple[str, str]], limit: int = 60) -> Text:
    """``(name, value)`` rows as two aligned columns of safe ``Text`` (names bold,
    padded to the longest name up to ``limit`` characters)."""
    text = Text()
    names = [safe_text(name) for name, _ in rows]
    width = min(max((len(name) for name in names), default=0), limit)
    for name, (_, value) in zip(names, rows, strict=True):
        text.append(name.ljust(width), STYLE_KEY)
        text.append("  ")
        text.append(safe_text(value), STYLE_STR)
        text.append("\n")
    text.rstrip()
    return text


def hex_dump(data: bytes) -> Text:
    """``data`` (up to :data:`MAX_SHOWN` bytes) as 16-byte rows: offset, hex, and
    the printable ASCII (others as ``.``)."""
    text = Text()
    shown = data[:MAX_SHOWN]
    for offset in range(0, len(shown), 16):
        row = shown[offset : offset + 16]
        text.append(f"{offset:08x}  ", STYLE_NOTE)
        text.append(row.hex(" ").ljust(48) + "  ", STYLE_BYTES)
        text.append("".join(chr(b) if 0x20 <= b < 0x7F else "." for b in row))
        text.append("\n")
    text.rstrip()
    _cut_note(text, len(data) - len(shown), "bytes")
    return text


def _plain(body: str) -> Text:
    text = Text(safe_text(body[:MAX_SHOWN], keep_newlines=True))
    _cut_note(text, len(body) - MAX_SHOWN, "characters")
    return text


def _json_body(read: Content) -> Text:
    value = content.json_of(read.body)
    if value is None:  # not JSON after all (or a bare null): as text
        return _text_body(read)
    if isinstance(value, dict) and isinstance(value.get("query"), str):  # a GraphQL request
        text = Text("GraphQL query\n", STYLE_HEAD)
        text.append_text(_plain(value["query"]))
        rest = {k: v for k, v in value.items() if k != "query"}
        if rest:
            text.append("\n\n")
            text.append_text(json_text(rest))
        return text
    return json_text(value)


def _text_body(read: Content) -> Text:
    return _plain(content.text_of(read.body, read.params.get("charset")))


def _form_body(read: Content) -> Text:
    return table_text(content.form(read.body))


def _multipart_body(read: Content) -> Text:
    parts = content.multipart(read.body, read.params.get("boundary", ""))
    if not parts:
        return Text("No parts found (no boundary, or the body is cut).\n", STYLE_NOTE).append_text(
            _text_body(read)
        )
    text = Text()
    for index, part in enumerate(parts):
        text.append(f"part {index + 1}  ", STYLE_NOTE)
        text.append(safe_text(part.name) or "(no name)", STYLE_KEY)
        if part.filename is not None:
            text.append(f"  file {safe_text(part.filename)!s}", STYLE_STR)
        if part.content_type:
            text.append(f"  {safe_text(part.content_type)}")
        text.append(f"  {fmt_bytes(len(part.data))}\n", STYLE_NOTE)
        kind = content.kind_of(part.content_type, part.data)
        if kind in ("text", "json", "form"):
            preview = content.text_of(part.data)
            text.append("  " + safe_text(preview[:200]), STYLE_STR)
            text.append("…\n" if len(preview) > 200 else "\n")
        elif kind == "image":
            text.append("  ").append_text(_image_line(part.data)).append("\n")
    text.rstrip()
    return text


def _image_line(data: bytes) -> Text:
    size = content.image_size(data)
    if size is None:
        return Text(f"an image of {fmt_bytes(len(data))} (size not read)", STYLE_NOTE)
    name, width, height = size
    return Text(f"{name} image, {width} × {height} px, {fmt_bytes(len(data))}", STYLE_HEAD)


def _image_body(read: Content) -> Text:
    return _image_line(read.body)


def _stream_body(read: Content) -> Text:
    events = content.events(read.body)
    text = Text(f"{len(events)} events: the Stream tab (E) lists them\n\n", STYLE_NOTE)
    return text.append_text(_text_body(read))


_VIEWS: dict[str, Callable[[Content], Text]] = {
    "json": _json_body,
    "form": _form_body,
    "multipart": _multipart_body,
    "image": _image_body,
    "event-stream": _stream_body,
    "text": _text_body,
    "binary": lambda read: hex_dump(read.body),
}
"""The view of a body by :func:`~asgi_scope.trace.content.kind_of`."""


def _cookies(headers: Headers, response: bool) -> Text:
    text = Text()
    if not response:
        rows = [pair for n, v in headers if n == b"cookie" for pair in content.cookies(v)]
        if rows:
            text.append("Cookies\n", STYLE_HEAD).append_text(table_text(rows)).append("\n\n")
        return text
    parsed = [content.set_cookie(v) for n, v in headers if n == b"set-cookie"]
    cookies = [cookie for cookie in parsed if cookie is not None]
    if cookies:
        text.append("Set-Cookie\n", STYLE_HEAD)
        for cookie in cookies:
            text.append(safe_text(cookie.name), STYLE_KEY)
            text.append(" = ")
            text.append(safe_text(cookie.value), STYLE_STR)
            for name, value in cookie.attributes:
                pair = safe_text(name) + (f"={safe_text(value)}" if value else "")
                text.append(f"; {pair}", STYLE_NOTE)
            text.append("\n")
        text.append("\n")
    return text


def side_text(
    title: str, headers: Headers, body: bytes, size: int, *, raw: bool = False, query: str = ""
) -> Text:
    """One side's body as safe ``Text``: a head line (media type, codings undone,
    sizes), its query string and cookies as tables, then the body read by its media
    type, or with ``raw`` the bytes as kept (text if they are UTF-8, else hex)."""
    read = content.content_of(headers, body)
    text = Text(title, STYLE_HEAD)
    text.append(f"  {safe_text(read.mime) or 'no content-type'}", STYLE_NOTE)
    if read.decoded.changed:
        codings = ", ".join(read.decoded.codings)
        text.append(
            f"  {codings}: {fmt_bytes(len(body))} → {fmt_bytes(len(read.body))}", STYLE_NOTE
        )
    else:
        text.append(f"  {fmt_bytes(size)}", STYLE_NOTE)
    if raw:
        text.append("  raw", "reverse")
    text.append("\n")
    if size > len(body):
        text.append(f"body cap: {fmt_bytes(len(body))} of {fmt_bytes(size)} kept\n", STYLE_CUT)
    if read.decoded.error:
        text.append(f"not decoded: {safe_text(read.decoded.error)}\n", STYLE_ERROR)
    if read.decoded.cut:
        text.append(f"decoded body cut at {fmt_bytes(content.MAX_DECODED)}\n", STYLE_CUT)
    if query:
        text.append("Query\n", STYLE_HEAD).append_text(table_text(content.form(query)))
        text.append("\n\n")
    text.append_text(_cookies(headers, title.startswith("Response")))
    if not body:
        return text.append("(no body)", STYLE_NOTE)
    if raw:
        try:
            body.decode("utf-8")
        except UnicodeDecodeError:
            return text.append_text(hex_dump(body))
        return text.append_text(_plain(safe_bytes(body, keep_newlines=True)))
    return text.append_text(_VIEWS[read.kind](read))


def flow_texts(flow: Flow | None, raw: bool = False) -> tuple[Text, Text]:
    """The request's and the response's :func:`side_text` of ``flow``."""
    if flow is None:
        hint = Text("No HTTP exchange selected.", STYLE_NOTE)
        return hint, Text()
    request = flow.request
    _, _, query = request.target.partition("?")
    left = side_text(
        f"Request  {safe_text(request.method)}",
        request.headers,
        request.body,
        request.body_size,
        raw=raw,
        query=query,
    )
    response = flow.response
    if response is None:
        return left, Text("Response  none yet", STYLE_NOTE)
    right = side_text(
        f"Response  {response.status}", response.headers, response.body, response.body_size, raw=raw
    )
    return left, right


class BodyView(Container, can_focus=True):
    """Request and response bodies of one exchange, decoded; ``v`` toggles raw."""

    BINDINGS = bindings("body")

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.raw = False
        """Whether the bytes as kept are shown instead of the decoded body."""
        self._store: Store | None = None
        self._exchange: Exchange | None = None

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="body-request-scroll"):
            yield Static(id="body-request")
        with VerticalScroll(id="body-response-scroll"):
            yield Static(id="body-response")

    def on_resize(self) -> None:
        self.set_class(self.size.width >= WIDE, "-wide")

    def show(self, store: Store | None, exchange: Exchange | None) -> None:
        """Show ``exchange``'s bodies (read from ``store``)."""
        self._store, self._exchange = store, exchange
        flow = flow_of(store, exchange) if store is not None and exchange is not None else None
        if flow is not None and flow.kind != "http":
            flow = None
        left, right = flow_texts(flow, self.raw)
        if exchange is not None and exchange.source == "otel":
            left = Text("No bodies: OpenTelemetry spans carry none.", STYLE_NOTE)
        self.query_one("#body-request", Static).update(left)
        self.query_one("#body-response", Static).update(right)

    def action_toggle_raw(self) -> None:
        """Raw bytes as kept, or the decoded view."""
        self.raw = not self.raw
        self.show(self._store, self._exchange)
