"""A held message as text the user edits, and the text back as a message.

Step mode's editor (mitmproxy's intercept, for ASGI) and the WebSocket composer
work on text; this module turns a message into that text and reads it back,
pure and without I/O:

* ``http.response.start``: the status line (``404 Not Found``; the reason is
  the server's to choose, as ASGI has none, so it is read and ignored), then
  one header field per line, ``name: value`` (RFC 9110 §5; names are tokens,
  lowercased as ASGI wants them, values latin-1 without CR, LF or NUL);
* ``http.request`` and ``http.response.body``: the body as UTF-8 text (a body
  that is not UTF-8 is not editable); ``more_body`` stays as it was;
* ``websocket.receive`` and ``websocket.send``: the text of a text message, or
  a binary message's bytes in hex (``binary``); either may become the other.

:func:`editable` raises :class:`NotEditable` for what cannot be edited;
:func:`edited` and :func:`composed` raise :class:`EditError` saying which line
is wrong.
"""

from __future__ import annotations

import http
import re
from typing import Any

EDITABLE = ("http.response.start", "http.response.body", "http.request",
            "websocket.send", "websocket.receive")  # fmt: skip
"""The message types step mode can edit."""

DROPPABLE = ("websocket.send", "websocket.receive")
"""The message types step mode can drop (a WebSocket message; an HTTP message
cannot go missing without breaking its exchange)."""

DROP = "drop"
"""What step mode's gate hands the shim for a message the user dropped (in
place of the edit it hands over otherwise)."""

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # RFC 9110 §5.6.2


class NotEditable(ValueError):
    """This message cannot be edited; ``str()`` says why, in one line."""


class EditError(ValueError):
    """The edited text is not a valid message; ``str()`` is one line naming the
    line (``line 3: ...``); ``line`` is that line's number, from 1 (0: none)."""

    def __init__(self, line: int, problem: str) -> None:
        super().__init__(f"line {line}: {problem}" if line else problem)
        self.line = line


def editable(message: Any, cut: int = 0) -> tuple[str, bool | None]:
    """``message`` as text to edit and, for a WebSocket message, whether that text
    is hex (a binary message; else None). ``cut`` is how many body bytes the
    held snapshot lacks. Raises :class:`NotEditable`."""
    kind = message.get("type") if isinstance(message, dict) else None
    if kind not in EDITABLE:
        raise NotEditable(f"{kind or 'this message'} cannot be edited "
                          "(a status and headers, a body or a WebSocket message can)")  # fmt: skip
    if cut:
        raise NotEditable(f"the body is {cut} bytes longer than what step mode holds to show")
    try:
        return _editable(kind, message)
    except NotEditable:
        raise
    except (TypeError, ValueError, AttributeError):  # the app's own malformed message
        raise NotEditable(f"this {kind} is malformed (see the spec checker's findings)") from None


def _editable(kind: str, message: dict[str, Any]) -> tuple[str, bool | None]:
    if kind == "http.response.start":
        status = message.get("status")
        phrase = _phrase(status)
        lines = [f"{status} {phrase}".rstrip()]
        for name, value in message.get("headers") or ():
            lines.append(f"{_latin1(name)}: {_latin1(value)}")
        return "\n".join(lines), None
    if kind.startswith("websocket."):
        text = message.get("text")
        if isinstance(text, str):
            return text, False
        return bytes(message.get("bytes") or b"").hex(" "), True
    try:
        return bytes(message.get("body") or b"").decode("utf-8"), None
    except UnicodeDecodeError:
        raise NotEditable("the body is not UTF-8 text: it cannot be edited as text") from None


def edited(original: dict[str, Any], text: str, binary: bool | None = None) -> dict[str, Any]:
    """The message ``text`` (from :func:`editable`) describes, in place of
    ``original``: same type, its other keys kept. Raises :class:`EditError`."""
    kind = original.get("type")
    message = dict(original)
    if kind == "http.response.start":
        lines = text.split("\n")
        message["status"] = _status(lines[0])
        message["headers"] = [
            _header(number, line)
            for number, line in enumerate(lines[1:], 2)
            if line.strip()
        ]  # fmt: skip
    elif kind in ("websocket.send", "websocket.receive"):
        message.pop("text", None)
        message.pop("bytes", None)
        message.update(_websocket_data(text, bool(binary)))
    else:
        message["body"] = text.encode("utf-8", "replace")
    return message


def composed(text: str, binary: bool) -> dict[str, Any]:
    """A ``websocket.receive`` message carrying ``text`` (hex bytes if ``binary``),
    as the composer sends it. Raises :class:`EditError` (bad hex)."""
    return {"type": "websocket.receive", **_websocket_data(text, binary)}


def _websocket_data(text: str, binary: bool) -> dict[str, Any]:
    if not binary:
        return {"text": text}
    compact = "".join(text.split())
    if compact.lower().startswith("0x"):
        compact = compact[2:]
    try:
        return {"bytes": bytes.fromhex(compact)}
    except ValueError:
        raise EditError(0, "binary data is hex digits in pairs (such as 68 69 0a)") from None


def _phrase(status: Any) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except (ValueError, TypeError):
        return ""


def _latin1(value: Any) -> str:
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("latin-1")
    return str(value)


def _status(line: str) -> int:
    words = line.split()
    if words and words[0].upper().startswith("HTTP/"):
        words = words[1:]  # "HTTP/1.1 404 Not Found" reads too
    word = words[0] if words else ""
    if not (word.isascii() and word.isdigit() and len(word) == 3 and 100 <= int(word) <= 599):
        raise EditError(1, f"the status is a number from 100 to 599, not {word[:20]!r}")
    return int(word)


def _header(number: int, line: str) -> tuple[bytes, bytes]:
    name, colon, value = line.partition(":")
    if not colon:
        raise EditError(number, "a header line is 'name: value'")
    name = name.strip()
    if not _TOKEN.fullmatch(name):
        raise EditError(number, f"{name[:30]!r} is not a header name (RFC 9110 §5.1)")
    value = value.strip(" \t")
    if "\r" in value or "\0" in value:
        raise EditError(number, "a header value holds no CR or NUL (RFC 9110 §5.5)")
    try:
        return name.lower().encode("ascii"), value.encode("latin-1")
    except UnicodeEncodeError:
        raise EditError(number, "a header value is latin-1 text (RFC 9110 §5.5)") from None
