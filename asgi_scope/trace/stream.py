"""A ``text/event-stream`` response as its events in time, and a WebSocket
session as its messages: what the Stream tab lists, UI-neutral.

The body messages of the response are joined into the stream (its
``content-encoding`` undone, if any) and parsed as the WHATWG HTML standard's
event-stream interpretation reads it (:func:`asgi_scope.trace.content.events`).
Each event gets the instant of the body message that completed it, and, when
the stream is not content-coded, the range of sent bytes it came from on its
connection (for the Hex tab's highlight), found from the message's wire range
without the chunk framing around its data.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

from asgi_scope.trace import content, present
from asgi_scope.trace.content import ServerSentEvent
from asgi_scope.trace.events import MessageReceived, MessageSent, Wire
from asgi_scope.trace.flow import wire_bytes
from asgi_scope.trace.store import Connection, Exchange


@dataclass(frozen=True, slots=True)
class StreamEvent:
    """One event of the stream: the parsed ``event`` and ``t_ns``, the instant
    (nanoseconds since the session began) the app sent the body message that
    completed it."""

    event: ServerSentEvent
    t_ns: int


@dataclass(slots=True)
class _Chunk:
    offset: int  # of its first byte in the stream
    body: bytes
    message: MessageSent


class EventStream:
    """The events of one ``text/event-stream`` exchange (:attr:`events`, in order)
    and the sent bytes each came from (:meth:`wire`)."""

    def __init__(self, exchange: Exchange, connection: Connection | None) -> None:
        self.exchange = exchange
        self._connection = connection
        self._chunks: list[_Chunk] = []
        headers = None
        offset = 0
        for event in exchange.events:
            if not isinstance(event, MessageSent) or not isinstance(event.message, dict):
                continue
            kind = event.message.get("type")
            if kind == "http.response.start":
                headers = event.message.get("headers")
            elif kind == "http.response.body":
                body = event.message.get("body")
                if isinstance(body, bytes) and body:
                    self._chunks.append(_Chunk(offset, body, event))
                    offset += len(body)
        raw = b"".join(chunk.body for chunk in self._chunks)
        decoded = content.decode(raw, content.header(headers, b"content-encoding"))
        self.coded = decoded.changed
        """Whether the stream was content-coded (then no byte ranges are known)."""
        self._starts = [chunk.offset for chunk in self._chunks]
        self.events = [self._timed(event) for event in content.events(decoded.body)]
        """The stream's events (comment-only blocks included), in order."""

    def _chunk_at(self, offset: int) -> _Chunk | None:
        index = bisect.bisect_right(self._starts, offset) - 1
        return self._chunks[index] if 0 <= index < len(self._chunks) else None

    def _timed(self, event: ServerSentEvent) -> StreamEvent:
        last = self._chunks[-1] if self.coded else self._chunk_at(max(event.end - 1, 0))
        return StreamEvent(event, last.message.t_ns if last is not None else self.exchange.t_start)

    def wire(self, index: int) -> tuple[str, Wire] | None:
        """The sent bytes event ``index`` came from, as ``("out", (start, end))``
        offsets on its connection; for a coded stream, or bytes not kept, the
        range of the messages it came from, or None if unknown."""
        event = self.events[index].event
        first, last = self._chunk_at(event.start), self._chunk_at(max(event.end - 1, 0))
        if first is None or last is None:
            return None
        start_wire = present.of(first.message).wire(first.message, self.exchange)
        end_wire = present.of(last.message).wire(last.message, self.exchange)
        if start_wire is None or end_wire is None:
            return None
        if self.coded:
            return "out", (start_wire[1][0], end_wire[1][1])
        start = self._data_at(first, start_wire[1]) + event.start - first.offset
        end = self._data_at(last, end_wire[1]) + event.end - last.offset
        return "out", (start, end)

    def _data_at(self, chunk: _Chunk, wire: Wire) -> int:
        """Where ``chunk``'s data starts within its message's ``wire`` range (after
        a chunk-size line, RFC 9112 §7.1); the range's start if the bytes were not
        kept."""
        if self._connection is None:
            return wire[0]
        sent = wire_bytes(self._connection.sent, *wire)
        found = sent.find(chunk.body[:64])
        return wire[0] + max(found, 0)


def is_event_stream(exchange: Exchange) -> bool:
    """Whether ``exchange``'s response is ``text/event-stream`` (RFC 9110 §8.3)."""
    for event in exchange.events:
        message = event.message if isinstance(event, MessageSent) else None
        if isinstance(message, dict) and message.get("type") == "http.response.start":
            kind = content.header(message.get("headers"), b"content-type")
            return content.media_type(kind)[0] == "text/event-stream"
    return False


@dataclass(frozen=True, slots=True)
class WebSocketItem:
    """One WebSocket message of an exchange: ``direction`` ``"in"`` (client → app,
    a ``websocket.receive``) or ``"out"`` (app → client, a ``websocket.send``),
    ``t_ns``, ``data`` (text, or bytes for a binary message) and the message
    ``event`` itself (for its wire range)."""

    direction: str
    t_ns: int
    data: str | bytes
    event: MessageReceived | MessageSent

    @property
    def size(self) -> int:
        """The message's length in bytes (text as UTF-8)."""
        data = self.data
        return len(data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data)

    @property
    def text(self) -> str:
        """The data as text (a binary message's bytes as UTF-8, others as ``\\xNN``)."""
        data = self.data
        return data if isinstance(data, str) else data.decode("utf-8", "backslashreplace")


def websocket_messages(exchange: Exchange) -> list[WebSocketItem]:
    """The data messages of a WebSocket ``exchange``, in order (ASGI spec,
    WebSocket: ``websocket.receive`` and ``websocket.send`` with ``text`` or
    ``bytes``)."""
    out = []
    for event in exchange.events:
        if not isinstance(event, (MessageReceived, MessageSent)):
            continue
        message = event.message
        wanted = "websocket.receive" if isinstance(event, MessageReceived) else "websocket.send"
        if not isinstance(message, dict) or message.get("type") != wanted:
            continue
        text, data = message.get("text"), message.get("bytes")
        value = text if isinstance(text, str) else data if isinstance(data, bytes) else b""
        direction = "in" if isinstance(event, MessageReceived) else "out"
        out.append(WebSocketItem(direction, event.t_ns, value, event))
    return out


def matching(
    items: list[WebSocketItem], direction: str = "", pattern: re.Pattern[str] | None = None
) -> list[WebSocketItem]:
    """The items of ``direction`` (``"in"``, ``"out"``, ``""`` both) whose text
    ``pattern`` finds (:meth:`re.Pattern.search`; None: all), as the filters
    of a browser's WebSocket message pane do."""
    return [
        item
        for item in items
        if (not direction or item.direction == direction)
        and (pattern is None or pattern.search(item.text) is not None)
    ]
