"""The parts of an HTTP/1.1 message on the wire, and which event a byte belongs to.

:func:`parts` splits one direction's bytes of an exchange into the pieces RFC 9112
names: the message head (start line and header fields, §2.1), interim ``1xx``
heads, and a body that is either plain (Content-Length or read to the close,
§6.3) or chunked (§7.1): each chunk's size line, its data and the CRLF after
it, the last chunk (``0``) and the trailer section that ends the message. A
view colours bytes by part, so each piece is distinguishable.

:func:`event_at` answers the reverse of a message's ``wire``: which event
(the scope, a message received or sent, a frame) a byte at a stream offset
came from or became, so moving through the bytes can select the message.

Pure functions over recorded data: no sockets, no parser state; the bytes are
read as the server recorded them (a cap may have cut some: parsing stops there).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from asgi_scope.trace.events import (
    BytesSent,
    Event,
    MessageReceived,
    MessageSent,
    ProtocolError,
    ScopeCreated,
    WebSocketFrame,
)
from asgi_scope.trace.store import Exchange

PART_NAMES = {
    "head": "head",
    "interim": "1xx head",
    "body": "body",
    "chunk-size": "chunk size",
    "chunk-data": "chunk data",
    "chunk-end": "chunk CRLF",
    "last-chunk": "last chunk",
    "trailers": "trailers",
    "frames": "WebSocket frames",
}
"""Display names of the part kinds, in the order a message has them."""


@dataclass(frozen=True, slots=True)
class Part:
    """Bytes ``start`` to ``end`` (stream offsets, ``end`` exclusive) are a ``kind``
    of :data:`PART_NAMES`; ``index`` counts chunks from 1 (0 for other parts)."""

    start: int
    end: int
    kind: str
    index: int = 0


def parts(data: bytes, start: int) -> list[Part]:
    """Split ``data`` (one direction's bytes of one exchange, beginning at stream
    offset ``start``, starting with a message head) into :class:`Part` s.

    Chunked framing is recognised from the head's ``Transfer-Encoding``; a
    ``101`` response's remaining bytes are WebSocket ``frames``. Bytes that do
    not parse (cut short, or not HTTP) end the list with a plain ``body`` part.
    """
    out: list[Part] = []
    pos = 0
    n = len(data)
    while pos < n:
        end = end_of_section(data, pos)
        if end < 0:
            out.append(Part(start + pos, start + n, "head"))
            return out
        head = data[pos:end]
        interim = head.startswith(b"HTTP/1.1 1") and not head.startswith(b"HTTP/1.1 101")
        out.append(Part(start + pos, start + end, "interim" if interim else "head"))
        pos = end
        if interim:
            continue
        break
    if pos >= n:
        return out
    lower = data[:pos].lower()
    if lower.startswith(b"http/1.1 101"):
        out.append(Part(start + pos, start + n, "frames"))
        return out
    coding = _TRANSFER_ENCODING.search(lower)
    if coding is None or b"chunked" not in coding.group(1):
        out.append(Part(start + pos, start + n, "body"))
        return out
    index = 0
    while pos < n:
        line_end = data.find(b"\n", pos)
        if line_end < 0:
            break
        size_text = data[pos:line_end].split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            break
        if size == 0:
            out.append(Part(start + pos, start + line_end + 1, "last-chunk"))
            pos = line_end + 1
            blank = _line_end_at(data, pos)
            end = pos + blank if blank else end_of_section(data, pos)
            end = n if end < 0 else end
            out.append(Part(start + pos, start + end, "trailers"))
            pos = end
            if pos < n:  # bytes after the message: not ours to name
                out.append(Part(start + pos, start + n, "body"))
            return out
        index += 1
        out.append(Part(start + pos, start + line_end + 1, "chunk-size", index))
        data_start = line_end + 1
        data_end = min(data_start + size, n)
        out.append(Part(start + data_start, start + data_end, "chunk-data", index))
        pos = data_end
        if pos >= n:
            return out
        crlf = _line_end_at(data, pos) or 2
        out.append(Part(start + pos, start + min(pos + crlf, n), "chunk-end", index))
        pos += crlf
    if pos < n:
        out.append(Part(start + pos, start + n, "body"))
    return out


_BLANK_LINE = re.compile(rb"\n\r?\n")
_TRANSFER_ENCODING = re.compile(rb"\ntransfer-encoding:([^\n]*)")


def end_of_section(data: bytes | bytearray, pos: int = 0) -> int:
    """Where the head or trailer section from ``pos`` ends (after its blank
    line, RFC 9112 §2.1; CRLF or bare LF, as h11 reads them), or -1 if it is
    cut short."""
    found = _BLANK_LINE.search(data, pos)
    return -1 if found is None else found.end()


def _line_end_at(data: bytes, pos: int) -> int:
    """The length of the line ending at ``pos`` (2 for CRLF, 1 for LF), or 0."""
    if data[pos : pos + 2] == b"\r\n":
        return 2
    return 1 if data[pos : pos + 1] == b"\n" else 0


def part_at(found: list[Part], offset: int) -> Part | None:
    """The part that holds the byte at ``offset``, if any."""
    for part in found:
        if part.start <= offset < part.end:
            return part
    return None


def event_at(exchange: Exchange, direction: str, offset: int) -> Event | None:
    """The event the byte at stream ``offset`` of ``direction`` (``"in"``: received,
    ``"out"``: sent) came from or became: the :class:`ScopeCreated` for the request
    head, a :class:`MessageReceived` for body bytes, the :class:`MessageSent` whose
    :class:`BytesSent` wrote it, a :class:`WebSocketFrame`; None for bytes the
    server wrote on its own or that belong to no event."""
    if direction == "in":
        for event in exchange.events:
            if isinstance(event, WebSocketFrame) and event.direction == "in":
                if event.wire[0] <= offset < event.wire[1]:
                    return event
            elif isinstance(event, (ScopeCreated, MessageReceived, ProtocolError)):
                wire = event.wire
                if wire is not None and wire[0] <= offset < wire[1]:
                    return event
        return None
    cause = 0
    for event in exchange.events:
        if isinstance(event, WebSocketFrame) and event.direction == "out":
            if event.wire[0] <= offset < event.wire[1]:
                return event
        elif isinstance(event, BytesSent) and event.offset <= offset < event.offset + event.size:
            cause = event.cause
    if not cause:
        return None
    return next((e for e in exchange.events if isinstance(e, MessageSent) and e.seq == cause), None)
