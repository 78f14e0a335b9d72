"""Untrusted values as safe Rich ``Text``: pretty dicts and single values.

Every str and bytes that reaches the screen from the network or the app passes
through :func:`~asgi_scope.trace.safe.safe_text` / :func:`~asgi_scope.trace.safe.safe_bytes`
here, and comes out as a :class:`rich.text.Text` (never a markup string), so a
path such as ``/[bold]x[/]`` shows literally and an ESC byte shows as ``\\x1b``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.text import Text

from asgi_scope.trace.safe import safe_bytes, safe_text

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


def safe_repr(value: Any) -> str:
    """A safe, bounded ``repr()`` of an arbitrary object; it never raises.

    An app's ``__repr__`` is untrusted code (it may raise, or return escape
    sequences: they come out escaped), and Python itself refuses ``repr()`` of an
    int of more than 4300 digits: such an int is summarized by its size.
    """
    try:
        text = str.__getitem__(repr(value), slice(0, MAX_REPR + 1))
    except Exception as exc:
        text = _failed_repr(value, exc)
    if len(text) > MAX_REPR:
        text = text[:MAX_REPR] + "…"
    return safe_text(text)


def _failed_repr(value: Any, exc: Exception) -> str:
    """What is shown for ``value`` whose ``repr()`` raised ``exc``."""
    try:
        name = str.__getitem__(type(value).__name__, slice(0, 60))
    except Exception:
        name = "object"
    if isinstance(value, int):
        try:  # an int too long to print: its size, from its bit length
            digits = int(int.bit_length(value) * 0.30103) + 1
            sign = "-" if int.__lt__(value, 0) else ""
            return f"<{name}: {sign}about {digits} digits>"
        except Exception:
            pass
    try:
        reason = str.__getitem__(type(exc).__name__, slice(0, 60))
    except Exception:
        reason = "error"
    return f"<{name} (repr failed: {reason})>"


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
    elif type(value) in (int, float):
        text.append(safe_repr(value), STYLE_NUMBER)  # an int may be too long to print
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
