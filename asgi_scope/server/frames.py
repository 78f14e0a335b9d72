"""WebSocket frame boundaries in a byte stream (RFC 6455 §5.2), for the trace.

wsproto does the protocol work; this finds where each frame starts and ends,
in either direction, so every frame is recorded with its byte range and the
first :data:`FRAME_PAYLOAD_CAP` bytes of its payload, unmasked.
"""

from __future__ import annotations

FRAME_PAYLOAD_CAP = 1024
"""Bytes of each frame's (unmasked) payload kept in its ``WebSocketFrame``."""


def parse_frame_header(buf: bytes | bytearray) -> tuple[bool, int, int, int, bytes | None] | None:
    """The header at the start of ``buf`` (RFC 6455 §5.2), or None if incomplete.

    Returns ``(fin, opcode, payload length in bytes, header length in bytes,
    masking key or None)``. Nothing is validated here (wsproto does that).
    """
    if len(buf) < 2:
        return None
    b0, b1 = buf[0], buf[1]
    length, pos = b1 & 0x7F, 2
    if length == 126:
        if len(buf) < 4:
            return None
        length, pos = int.from_bytes(buf[2:4], "big"), 4
    elif length == 127:
        if len(buf) < 10:
            return None
        length, pos = int.from_bytes(buf[2:10], "big"), 10
    mask = None
    if b1 & 0x80:
        if len(buf) < pos + 4:
            return None
        mask, pos = bytes(buf[pos : pos + 4]), pos + 4
    return bool(b0 & 0x80), b0 & 0x0F, length, pos, mask


def unmask(data: bytes, key: bytes | None) -> bytes:
    """A payload's ``data`` XOR the masking ``key`` (RFC 6455 §5.3)."""
    if key is None or not data:
        return bytes(data)
    n = len(data)
    stream = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(data, "big") ^ int.from_bytes(stream, "big")).to_bytes(n, "big")


Frame = tuple[int, int, bool, int, int, bytes, bool]
"""``(start, end, fin, opcode, payload length, payload kept, complete)``: one frame
found in a byte stream; ``start``/``end`` are stream offsets."""


class FrameScanner:
    """Finds frame boundaries in one direction's byte stream (RFC 6455 §5.2).

    Feed it the bytes as they arrive; it returns each frame once its last byte
    has arrived, with the first ``cap`` bytes of its payload unmasked. It keeps
    at most one header and ``cap`` payload bytes, whatever the frame size.
    """

    __slots__ = ("cap", "head", "header", "kept", "need", "offset", "start")

    def __init__(self, offset: int, cap: int = FRAME_PAYLOAD_CAP) -> None:
        self.offset = offset  # stream offset of the next byte fed
        self.start = offset  # stream offset of the frame being read
        self.cap = cap
        self.head = bytearray()
        self.header: tuple[bool, int, int, int, bytes | None] | None = None
        self.need = 0  # payload bytes still to come
        self.kept = bytearray()

    def feed(self, data: bytes) -> list[Frame]:
        """The frames that ``data`` completed, in order."""
        frames: list[Frame] = []
        i, n = 0, len(data)
        while i < n:
            if self.header is None:
                take = min(14 - len(self.head), n - i)
                self.head += data[i : i + take]
                header = parse_frame_header(self.head)
                if header is None:
                    i += take
                    continue
                extra = len(self.head) - header[3]  # bytes taken past the header
                del self.head[header[3] :]
                i += take - extra
                self.header, self.need = header, header[2]
                self.kept.clear()
            else:
                take = min(self.need, n - i)
                room = self.cap - len(self.kept)
                if room > 0:
                    self.kept += data[i : i + min(take, room)]
                self.need -= take
                i += take
            if self.header is not None and self.need == 0:
                frames.append(self._frame(self.offset + i, True))
        self.offset += n
        return frames

    def _frame(self, end: int, complete: bool) -> Frame:
        fin, opcode, length, _, mask = self.header  # type: ignore[misc]
        start = self.start
        frame = (start, end, fin, opcode, length, unmask(bytes(self.kept), mask), complete)
        self.start = end
        self.header = None
        self.head.clear()
        self.kept.clear()
        return frame

    def partial(self, offset: int) -> Frame | None:
        """The frame cut short when the stream ended at ``offset``, if any."""
        if self.header is None and not self.head:
            return None
        if self.header is None:
            return (self.start, offset, False, -1, 0, b"", False)
        return self._frame(offset, False)
