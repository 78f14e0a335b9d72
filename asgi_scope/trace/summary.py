"""One-line summaries of events and ASGI messages, shared by every view.

Pure functions from event data to plain ``str``; untrusted parts pass through
:func:`~asgi_scope.trace.safe.safe_text`, so the result is safe to show as
plain text (never as markup). Called by views, off the hot path.
"""

from __future__ import annotations

from typing import Any

from asgi_scope.trace.safe import safe_bytes, safe_text

PREVIEW = 60
"""Characters of a body or raw bytes shown in a one-line preview."""


def size(n: int) -> str:
    """``n`` bytes as ``"812 B"``, ``"64.0 KiB"``, ``"1.5 MiB"``."""
    if n < 1024:
        return f"{n} B"
    if n < 1 << 20:
        return f"{n / 1024:.1f} KiB"
    return f"{n / (1 << 20):.1f} MiB"


def duration(ns: int) -> str:
    """Nanoseconds as ``"850 µs"``, ``"12.3 ms"``, ``"2.01 s"``."""
    if ns < 1_000_000:
        return f"{ns / 1000:.0f} µs"
    if ns < 1_000_000_000:
        return f"{ns / 1_000_000:.1f} ms"
    return f"{ns / 1_000_000_000:.2f} s"


def preview(data: bytes | str, limit: int = PREVIEW) -> str:
    """A quoted, escaped, cut preview of a body or raw bytes."""
    cut = data[:limit]
    text = safe_bytes(cut) if isinstance(cut, bytes) else safe_text(cut)
    return f'"{text}{"…" if len(data) > limit else ""}"'


def message_summary(message: Any, dropped: int = 0) -> str:
    """The ASGI message's type and its telling fields on one line.

    ``http.response.start status=200 headers=3``,
    ``http.request body=12 B "hello…" more_body=False``. A value that is not a
    dict (the app broke the spec) is shown as its escaped ``repr``.
    """
    if not isinstance(message, dict):
        return safe_text(repr(message))
    parts = [safe_text(str(message.get("type", "?")))]
    for key, value in message.items():
        if key == "type":
            continue
        if key in ("body", "bytes", "text") and isinstance(value, (bytes, str)):
            true_len = len(value) + dropped
            parts.append(f"{key}={size(true_len)}" + (f" {preview(value)}" if value else ""))
        elif key == "headers" and isinstance(value, (list, tuple)):
            parts.append(f"headers={len(value)}")
        else:
            parts.append(f"{safe_text(str(key))}={safe_text(repr(value))[:PREVIEW]}")
    return " ".join(parts)


def scope_summary(scope: dict[str, Any]) -> str:
    """``http GET /items/1?q=x HTTP/1.1``, ``websocket /chat?room=1`` or ``lifespan``."""
    kind = scope.get("type", "?")
    if kind == "lifespan":
        return "lifespan"
    query = scope.get("query_string") or b""
    target = safe_text(str(scope.get("path", ""))) + (f"?{safe_bytes(query)}" if query else "")
    if kind == "websocket":
        protocols = ", ".join(safe_text(str(p)) for p in scope.get("subprotocols") or ())
        return f"websocket {target}" + (f" subprotocols: {protocols}" if protocols else "")
    method = safe_text(str(scope.get("method", "")))
    return f"{kind} {method} {target} HTTP/{safe_text(str(scope.get('http_version', '')))}"


def scope_changes(before: dict[str, Any], after: dict[str, Any]) -> tuple[list[str], list[str]]:
    """Keys the app added to the scope, and keys whose value it changed."""
    added = [str(k) for k in after if k not in before]
    changed = [str(k) for k in after if k in before and after[k] != before[k]]
    return added, changed


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
        text = f"{name} {size(length)}"
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
