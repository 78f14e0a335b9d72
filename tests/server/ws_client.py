"""A raw WebSocket client for tests where the frames on the wire matter.

Builds masked client frames byte by byte (RFC 6455 §5.2) and reads server
frames from a :class:`tests.live.Raw` socket, whose reads all time out. Used
where the ``websockets`` client would hide what is being tested: fragments,
control frames between fragments, a frame cut in the middle, bad frames.
"""

from __future__ import annotations

import base64
import os

from tests.live import Raw

KEY = base64.b64encode(b"0123456789abcdef").decode()
"""A valid ``Sec-WebSocket-Key`` (16 bytes, base64)."""

TEXT, BINARY, CONTINUATION, CLOSE, PING, PONG = 1, 2, 0, 8, 9, 10


def handshake(path: str, *headers: str, key: str | None = KEY, version: str = "13") -> bytes:
    """The bytes of an opening handshake request (RFC 6455 §4.1)."""
    lines = [f"GET {path} HTTP/1.1", "Host: test", "Upgrade: websocket", "Connection: Upgrade"]
    if key is not None:
        lines.append(f"Sec-WebSocket-Key: {key}")
    lines.append(f"Sec-WebSocket-Version: {version}")
    lines += headers
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def frame(opcode: int, payload: bytes = b"", fin: bool = True, mask: bool = True) -> bytes:
    """One client frame; masked with a random key unless ``mask`` is False."""
    head = bytes([(0x80 if fin else 0) | opcode])
    n = len(payload)
    bit = 0x80 if mask else 0
    if n < 126:
        head += bytes([bit | n])
    elif n < 1 << 16:
        head += bytes([bit | 126]) + n.to_bytes(2, "big")
    else:
        head += bytes([bit | 127]) + n.to_bytes(8, "big")
    if not mask:
        return head + payload
    key = os.urandom(4)
    return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


def close_payload(code: int, reason: str = "") -> bytes:
    return code.to_bytes(2, "big") + reason.encode()


def open_socket(raw: Raw, path: str, *headers: str) -> tuple[int, bytes]:
    """Send a handshake for ``path`` and read the response head: ``(status, head)``."""
    raw.send(handshake(path, *headers))
    status, _, _, head = raw.read_head()
    return status, head


def read_frame(raw: Raw) -> tuple[bool, int, bytes]:
    """The next server frame as ``(fin, opcode, payload)`` (server frames are unmasked)."""
    b0, b1 = raw.read_exact(2)
    assert not b1 & 0x80, "a server must not mask its frames (RFC 6455 §5.1)"
    n = b1 & 0x7F
    if n == 126:
        n = int.from_bytes(raw.read_exact(2), "big")
    elif n == 127:
        n = int.from_bytes(raw.read_exact(8), "big")
    return bool(b0 & 0x80), b0 & 0x0F, raw.read_exact(n)


def read_close(raw: Raw) -> tuple[int, str]:
    """Read frames until a close frame; its ``(code, reason)`` (1005 if it has none)."""
    while True:
        _, opcode, payload = read_frame(raw)
        if opcode == CLOSE:
            if len(payload) < 2:
                return 1005, ""
            return int.from_bytes(payload[:2], "big"), payload[2:].decode()


def close_code_or_none(raw: Raw) -> int | None:
    """The code of the server's close frame, or None if it closed the TCP connection
    without sending one."""
    try:
        return read_close(raw)[0]
    except EOFError:
        return None
