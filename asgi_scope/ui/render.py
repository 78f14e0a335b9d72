"""Untrusted values as safe Rich ``Text``: pretty dicts, one-line summaries, units.

Every str and bytes that reaches the screen from the network or the app passes
through :func:`~asgi_scope.trace.safe.safe_text` / :func:`~asgi_scope.trace.safe.safe_bytes`
here, and comes out as a :class:`rich.text.Text` (never a markup string), so a
path such as ``/[bold]x[/]`` shows literally and an ESC byte shows as ``\\x1b``.
"""

from __future__ import annotations

import http
from collections.abc import Mapping
from typing import Any

from rich.text import Text

from asgi_scope.trace.events import (
    AppRaised,
    Event,
    ExchangeEnded,
    LifespanState,
    MessageReceived,
    MessageSent,
    ProtocolError,
    ScopeCreated,
    WebSocketFrame,
)
from asgi_scope.trace.safe import safe_bytes, safe_text
from asgi_scope.trace.summary import frame_summary, opcode_name

MAX_VALUE = 2048
"""Bytes (or characters) of one value shown before it is cut with "… (N more bytes)"."""

MAX_REPR = 200
"""Characters of ``repr()`` shown for objects that are not plain data (``app``, ``route``)."""

STYLE_KEY = "bold"
STYLE_STR = "green"
STYLE_BYTES = "magenta"
STYLE_NUMBER = "cyan"
STYLE_CONST = "italic cyan"
STYLE_OBJECT = "yellow"
STYLE_CUT = "bold reverse red"
STYLE_PUNCT = "dim"

_BODY_KEYS = ("body", "bytes", "text")
_INDENT = "    "


def fmt_bytes(size: int) -> str:
    """``size`` bytes in short human units: ``512 B``, ``1.5 KiB``, ``3.0 MiB``."""
    if size < 1024:
        return f"{size} B"
    for unit in ("KiB", "MiB", "GiB"):
        size /= 1024
        if size < 1024 or unit == "GiB":
            return f"{size:.1f} {unit}"
    return f"{size} B"  # pragma: no cover


def fmt_duration(ns: int | None) -> str:
    """Nanoseconds in short human units: ``850 µs``, ``12.3 ms``, ``4.56 s``; ``…`` for None."""
    if ns is None:
        return "…"
    if ns < 1_000:
        return f"{ns} ns"
    if ns < 1_000_000:
        return f"{ns / 1_000:.0f} µs"
    if ns < 1_000_000_000:
        return f"{ns / 1_000_000:.1f} ms"
    if ns < 60_000_000_000:
        return f"{ns / 1_000_000_000:.2f} s"
    return f"{ns // 60_000_000_000}m{ns % 60_000_000_000 // 1_000_000_000:02d}s"


def safe_repr(value: Any) -> str:
    """A safe, bounded ``repr()`` of an arbitrary object (it may even raise)."""
    try:
        text = repr(value)
    except Exception as exc:  # an app's __repr__ is untrusted code
        text = f"<{type(value).__name__} (repr failed: {type(exc).__name__})>"
    if len(text) > MAX_REPR:
        text = text[:MAX_REPR] + "…"
    return safe_text(text)


def value_text(value: Any, *, limit: int = MAX_VALUE, dropped: int = 0) -> Text:
    """One scalar as safe ``Text``: ``'str'``, ``b'bytes'``, numbers, ``None``, objects.

    Strings and bytes longer than ``limit`` are cut with ``… (N more bytes)``;
    ``dropped`` (bytes the trace never kept, cut by the body cap) is marked too.
    """
    text = Text()
    if isinstance(value, (bytes, bytearray, memoryview)):
        data = bytes(value)
        more = max(len(data) - limit, 0)
        text.append("b'" + safe_bytes(data[:limit]) + "'", STYLE_BYTES)
        _append_cut(text, more, "bytes")
    elif isinstance(value, str):
        more = max(len(value) - limit, 0)
        text.append("'" + safe_text(value[:limit]) + "'", STYLE_STR)
        _append_cut(text, more, "characters")
    elif value is None or isinstance(value, bool):
        text.append(str(value), STYLE_CONST)
    elif isinstance(value, (int, float)):
        text.append(repr(value), STYLE_NUMBER)
    else:
        text.append(safe_repr(value), STYLE_OBJECT)
    if dropped:
        text.append(" ")
        text.append(f"[+{dropped} bytes not kept: body cap]", STYLE_CUT)
    return text


def _append_cut(text: Text, more: int, unit: str) -> None:
    if more:
        text.append(f" … ({more} more {unit})", STYLE_CUT)


def _is_atom(value: Any) -> bool:
    return isinstance(value, (str, bytes, int, float, bool, type(None)))


def _inline(value: Any, width: int) -> Text | None:
    """``value`` on one line if it is a short list/tuple of scalars, else None."""
    if not isinstance(value, (list, tuple)) or not all(_is_atom(v) for v in value):
        return None
    open_, close = ("[", "]") if isinstance(value, list) else ("(", ")")
    text = Text(open_, STYLE_PUNCT)
    for index, item in enumerate(value):
        if index:
            text.append(", ", STYLE_PUNCT)
        text.append_text(value_text(item, limit=width))
    if isinstance(value, tuple) and len(value) == 1:
        text.append(",", STYLE_PUNCT)
    text.append(close, STYLE_PUNCT)
    return text if text.cell_len <= width else None


def pretty(value: Any, *, dropped: int = 0, width: int = 100) -> Text:
    """A dict, list or scalar pretty-printed as safe ``Text``, one item per line.

    Short lists of scalars (an ASGI header pair, ``client``) stay on one line.
    ``dropped`` marks the body value (``body``, ``bytes`` or ``text``) of a message
    whose snapshot the body cap cut.
    """
    text = Text()
    _pretty(text, value, 0, dropped, width, set())
    return text


def _pretty(text: Text, value: Any, depth: int, dropped: int, width: int, seen: set[int]) -> None:
    if id(value) in seen or depth > 10:
        text.append("…", STYLE_PUNCT)
        return
    indent = _INDENT * (depth + 1)
    if isinstance(value, Mapping):
        if not value:
            text.append("{}", STYLE_PUNCT)
            return
        seen = seen | {id(value)}
        text.append("{\n", STYLE_PUNCT)
        for key, item in value.items():
            text.append(indent)
            text.append_text(key_text(key))
            text.append(": ", STYLE_PUNCT)
            if dropped and key in _BODY_KEYS:
                text.append_text(value_text(item, dropped=dropped))
            else:
                _pretty(text, item, depth + 1, 0, width, seen)
            text.append(",\n", STYLE_PUNCT)
        text.append(_INDENT * depth + "}", STYLE_PUNCT)
    elif isinstance(value, (list, tuple)):
        one_line = _inline(value, max(width - len(indent), 20))
        if one_line is not None:
            text.append_text(one_line)
            return
        seen = seen | {id(value)}
        open_, close = ("[", "]") if isinstance(value, list) else ("(", ")")
        text.append(open_ + "\n", STYLE_PUNCT)
        for item in value:
            text.append(indent)
            _pretty(text, item, depth + 1, 0, width, seen)
            text.append(",\n", STYLE_PUNCT)
        text.append(_INDENT * depth + close, STYLE_PUNCT)
    else:
        text.append_text(value_text(value))


def key_text(key: Any) -> Text:
    """A dict key as safe ``Text`` (quoted like Python shows it)."""
    if isinstance(key, str):
        return Text("'" + safe_text(key) + "'", STYLE_KEY)
    return value_text(key)


def _size(value: Any) -> int | None:
    return len(value) if isinstance(value, (bytes, str)) else None


def _short(value: Any, limit: int = 40) -> str:
    """A value for a one-line summary: safe, unquoted, cut at ``limit``."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "backslashreplace")
    elif not isinstance(value, str):
        value = repr(value) if _is_atom(value) else type(value).__name__
    value = safe_text(value)
    return value if len(value) <= limit else value[: limit - 1] + "…"


def message_type(message: Any) -> str:
    """The safe ``type`` of an ASGI message (``?`` when it has none)."""
    if not isinstance(message, Mapping):
        return f"<{type(message).__name__}>"
    return _short(message.get("type", "?"), 40)


def message_summary(message: Any, dropped: int = 0) -> str:
    """One safe line that says what an ASGI message carries.

    Returns a plain ``str`` that is already safe (built only from safe pieces);
    callers still wrap it in ``Text``.
    """
    if not isinstance(message, Mapping):
        return "not a dict: " + safe_repr(message)
    kind = message.get("type")
    parts: list[str] = []
    if kind == "http.response.start":
        status = message.get("status")
        try:
            parts.append(f"{status} {http.HTTPStatus(status).phrase}")
        except (ValueError, TypeError):
            parts.append(_short(status))
        headers = message.get("headers")
        if isinstance(headers, (list, tuple)):
            parts.append(f"{len(headers)} headers")
    elif kind in ("websocket.close", "websocket.disconnect"):
        if "code" in message:
            parts.append(f"code {_short(message['code'])}")
        if message.get("reason"):
            parts.append(_short(message["reason"]))
    elif kind == "lifespan.startup.failed" or kind == "lifespan.shutdown.failed":
        parts.append(_short(message.get("message", "")))
    elif kind == "websocket.accept" and message.get("subprotocol"):
        parts.append("subprotocol " + _short(message["subprotocol"]))
    for key in _BODY_KEYS:
        value = message.get(key)
        size = _size(value)
        if size is None:
            continue
        if key == "text":
            parts.append(f"{size + dropped} chars '{_short(value, 30)}'")
        elif size:
            parts.append(f"{fmt_bytes(size + dropped)} b'{_short(value, 30)}'")
        else:
            parts.append(fmt_bytes(size + dropped))
    if message.get("more_body"):
        parts.append("more_body")
    if dropped:
        parts.append(f"{fmt_bytes(dropped)} not kept")
    return ", ".join(p for p in parts if p)


def event_summary(event: Event) -> tuple[str, str]:
    """``(type, summary)`` for a row of the Messages list: safe strings."""
    if isinstance(event, (MessageReceived, MessageSent)):
        return message_type(event.message), message_summary(event.message, event.dropped)
    if isinstance(event, ScopeCreated):
        return "scope", scope_summary(event.scope)
    if isinstance(event, AppRaised):
        return "app raised", f"{_short(event.exc_type)}: {_short(event.message, 60)}"
    if isinstance(event, ProtocolError):
        answer = f" → {event.status}" if event.status else ", connection closed"
        return "protocol error", f"by {_short(event.by)}: {_short(event.detail, 60)}{answer}"
    if isinstance(event, ExchangeEnded):
        status = f", status {event.status}" if event.status else ""
        return "app returned", f"{_short(event.outcome)}{status}"
    if isinstance(event, WebSocketFrame):
        return f"frame {opcode_name(event.opcode)}", frame_text(event)
    if isinstance(event, LifespanState):
        keys = ", ".join(_short(key, 30) for key in event.state) or "none"
        return "state", f"the app set: {keys}"
    return type(event).__name__, ""


def frame_text(frame: WebSocketFrame) -> str:
    """A frame's one-line summary and what it became: ``text 5 B "hello" ⇒
    websocket.receive``, ``ping 1 B "p" ⇒ pong by the server``. Safe text."""
    line = frame_summary(frame.opcode, frame.fin, frame.length, frame.payload, frame.complete)
    if not frame.complete:
        return line
    if frame.direction == "out":
        return line + ("  ⇐ the app's message" if frame.cause else "  ⇐ the server")
    became = {
        0: "websocket.receive" if frame.fin else "",
        1: "websocket.receive" if frame.fin else "",
        2: "websocket.receive" if frame.fin else "",
        8: "websocket.disconnect, close reply",
        9: "pong by the server",
    }.get(frame.opcode, "")
    return line + (f"  ⇒ {became}" if became else "")


def scope_summary(scope: Mapping[str, Any]) -> str:
    """``GET /path?q HTTP/1.1`` / ``websocket /ws`` / ``lifespan``: safe."""
    kind = scope.get("type", "?")
    if kind == "lifespan":
        return "lifespan"
    path = _short(scope.get("path", ""), 60)
    query = scope.get("query_string")
    if query:
        path += "?" + _short(query, 30)
    if kind == "http":
        version = _short(scope.get("http_version", ""), 8)
        return f"{_short(scope.get('method', ''), 12)} {path} HTTP/{version}"
    return f"{_short(kind, 12)} {path}"
