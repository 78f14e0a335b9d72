"""One-line summaries of events and ASGI messages, shared by every view.

Pure functions from event data to plain ``str``; untrusted parts pass through
:func:`~asgi_scope.trace.safe.safe_text`, so the result is safe to show as
plain text (never as markup). Called by views, off the hot path.
"""

from __future__ import annotations

import http
from collections.abc import Mapping
from typing import Any

from asgi_scope.trace.events import ProxyTimings, WebSocketFrame
from asgi_scope.trace.safe import safe_bytes, safe_text

PREVIEW = 60
"""Characters of a body or raw bytes shown in a one-line preview."""

_BODY_KEYS = ("body", "bytes", "text")


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


def preview(data: bytes | str, limit: int = PREVIEW) -> str:
    """A quoted, escaped, cut preview of a body or raw bytes."""
    cut = data[:limit]
    text = safe_bytes(cut) if isinstance(cut, bytes) else safe_text(cut)
    return f'"{text}{"…" if len(data) > limit else ""}"'


OPCODES = {0: "continuation", 1: "text", 2: "binary", 8: "close", 9: "ping", 10: "pong"}
"""WebSocket opcode names (RFC 6455 §5.2, §11.8)."""


def opcode_name(opcode: int) -> str:
    """``text``, ``ping``... or ``0x3`` for a reserved opcode, ``?`` for none."""
    return OPCODES.get(opcode, f"0x{opcode:x}" if opcode >= 0 else "?")


def frame_summary(opcode: int, fin: bool, length: int, payload: bytes, complete: bool) -> str:
    """One WebSocket frame on one line, safe to show:
    ``text 5 B "hello"``, ``binary 3 B 00 01 ff``, ``close 1000 "bye"``,
    ``text 3 B "hel" (not FIN)``, ``binary 8 B … (cut short)``.

    Text and close reasons are previewed as text, other payloads as hex.
    """
    name = opcode_name(opcode)
    if opcode == 8:
        code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else 1005
        text = f"close {code}"
        if len(payload) > 2:
            text += f" {preview(payload[2:])}"
    else:
        text = f"{name} {fmt_bytes(length)}"
        if payload and opcode in (0, 1):
            text += f" {preview(payload)}"
        elif payload:
            cut = payload[:24]
            text += " " + cut.hex(" ") + ("…" if length > len(cut) else "")
    if not fin:
        text += " (not FIN)"
    if not complete:
        text += " (cut short)"
    return text


_ATOMS = (str, bytes, int, float, bool, type(None))
_PHRASES = frozenset(status.value for status in http.HTTPStatus)


def _size(value: Any) -> int | None:
    return len(value) if isinstance(value, (bytes, str)) else None


def short(value: Any, limit: int = 40) -> str:
    """A value for a one-line summary: safe, unquoted, cut at ``limit``.

    Only the start of a long value is decoded and escaped (escaping only
    lengthens text): a 64 KiB body costs what its first characters cost.
    """
    cut = False
    if isinstance(value, bytes):
        cut = len(value) > limit * 4  # a character is at most 4 bytes of UTF-8
        value = value[: limit * 4].decode("utf-8", "backslashreplace")
    elif not isinstance(value, str):
        value = _repr(value) if isinstance(value, _ATOMS) else type(value).__name__
    if len(value) > limit:
        value, cut = value[: limit + 1], True
    value = safe_text(value)
    return value if len(value) <= limit and not cut else value[: limit - 1] + "…"


def _repr(value: Any) -> str:
    """``repr(value)``, or its type's name when the app's ``__repr__`` raises."""
    try:
        return repr(value)
    except Exception:
        return f"<{type(value).__name__}>"


def message_type(message: Any) -> str:
    """The safe ``type`` of an ASGI message (``?`` when it has none)."""
    if not isinstance(message, Mapping):
        return f"<{type(message).__name__}>"
    return short(message.get("type", "?"), 40)


def message_summary(message: Any, dropped: int = 0) -> str:
    """One safe line that says what an ASGI message carries.

    Returns a plain ``str`` that is already safe (built only from safe pieces);
    callers still wrap it in ``Text``.
    """
    if not isinstance(message, Mapping):
        return "not a dict: " + short(_repr(message), 60)
    kind = message.get("type")
    parts: list[str] = []
    if kind == "http.response.start":
        status = message.get("status")
        if type(status) is int and 100 <= status <= 999:  # not a subclass: its str is ours
            phrase = http.HTTPStatus(status).phrase if status in _PHRASES else ""
            parts.append(f"{status} {phrase}".rstrip())
        else:  # a str, a dict, an int subclass with a __str__ of its own...
            parts.append(short(status))
        headers = message.get("headers")
        if isinstance(headers, (list, tuple)):
            parts.append(f"{len(headers)} header{'' if len(headers) == 1 else 's'}")
    elif kind in ("websocket.close", "websocket.disconnect"):
        if "code" in message:
            parts.append(f"code {short(message['code'])}")
        if message.get("reason"):
            parts.append(short(message["reason"]))
    elif kind == "lifespan.startup.failed" or kind == "lifespan.shutdown.failed":
        parts.append(short(message.get("message", "")))
    elif kind == "websocket.accept" and message.get("subprotocol"):
        parts.append("subprotocol " + short(message["subprotocol"]))
    for key in _BODY_KEYS:
        value = message.get(key)
        size = _size(value)
        if size is None:
            continue
        if key == "text":
            parts.append(f"{size + dropped} chars '{short(value, 30)}'")
        elif size:
            parts.append(f"{fmt_bytes(size + dropped)} b'{short(value, 30)}'")
        else:
            parts.append(fmt_bytes(size + dropped))
    if message.get("more_body"):
        parts.append("more_body")
    if dropped:
        parts.append(f"{fmt_bytes(dropped)} not kept")
    return ", ".join(p for p in parts if p)


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
    path = short(scope.get("path", ""), 60)
    query = scope.get("query_string")
    if query:
        path += "?" + short(query, 30)
    if kind == "http":
        version = short(scope.get("http_version", ""), 8)
        return f"{short(scope.get('method', ''), 12)} {path} HTTP/{version}"
    return f"{short(kind, 12)} {path}"


def proxy_timings(event: ProxyTimings) -> str:
    """One line for ``asgi-scope proxy``'s timings of an exchange: ``upstream
    http://127.0.0.1:9000: 200; client 750 µs, proxy 301 µs (connect 220 µs),
    upstream 3.4 ms``. The proxy's share is what is left of the whole call once
    the client's and the upstream's are taken out (connecting counts as the
    proxy's); streamed bodies make the parts overlap, so it is clamped at 0."""
    rest = max(event.total_ns - event.connect_ns - event.upstream_ns - event.client_ns, 0)
    head = f"upstream {safe_text(event.upstream)}: "
    head += f"failed: {safe_text(event.error)}" if event.error else str(event.status)
    return (
        f"{head}; client {fmt_duration(event.client_ns)}, "
        f"proxy {fmt_duration(rest + event.connect_ns)} "
        f"(connect {fmt_duration(event.connect_ns)}), upstream {fmt_duration(event.upstream_ns)}"
    )
