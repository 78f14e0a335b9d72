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
        end = data.find(b"\r\n\r\n", pos)
        if end < 0:
            out.append(Part(start + pos, start + n, "head"))
            return out
        end += 4
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
    if (
        b"\r\ntransfer-encoding:" not in lower
        or b"chunked" not in lower.split(b"\r\ntransfer-encoding:", 1)[1].split(b"\r\n", 1)[0]
    ):
        out.append(Part(start + pos, start + n, "body"))
        return out
    index = 0
    while pos < n:
        line_end = data.find(b"\r\n", pos)
        if line_end < 0:
            break
        size_text = data[pos:line_end].split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            break
        if size == 0:
            out.append(Part(start + pos, start + line_end + 2, "last-chunk"))
            pos = line_end + 2
            trailer_end = data.find(b"\r\n", pos) if data[pos : pos + 2] == b"\r\n" else -1
            if trailer_end == pos:  # no trailer fields: just the final CRLF
                out.append(Part(start + pos, start + pos + 2, "trailers"))
                pos += 2
            else:
                end = data.find(b"\r\n\r\n", pos)
                end = n if end < 0 else end + 4
                out.append(Part(start + pos, start + end, "trailers"))
                pos = end
            if pos < n:  # bytes after the message: not ours to name
                out.append(Part(start + pos, start + n, "body"))
            return out
        index += 1
        out.append(Part(start + pos, start + line_end + 2, "chunk-size", index))
        data_start = line_end + 2
        data_end = min(data_start + size, n)
        out.append(Part(start + data_start, start + data_end, "chunk-data", index))
        pos = data_end
        if pos >= n:
            return out
        out.append(Part(start + pos, start + min(pos + 2, n), "chunk-end", index))
        pos += 2
    if pos < n:
        out.append(Part(start + pos, start + n, "body"))
    return out


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
