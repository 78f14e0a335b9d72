"""The raw bytes of a recorded request, as they came off the socket.

The request head (request line and headers, RFC 9112 §2.1) and the body with
its framing (Content-Length or chunked), exactly as received, from the kept
received bytes of the exchange's connection. Credential header values are
redacted in the head unless told otherwise; nothing else is changed.
"""

from __future__ import annotations

from asgi_scope.export.redact import redact_head
from asgi_scope.trace.store import Exchange, Store


def raw_request(store: Store, exchange: Exchange, *, redact: bool = True) -> bytes:
    """The received bytes of ``exchange`` (empty if none were kept). A body cap
    may have cut them: compare with ``exchange.bytes_in``."""
    conn = store.connections.get(exchange.conn)
    if conn is None or exchange.wire_in is None:
        return b""
    data = b"".join(chunk for _, chunk in conn.slice("in", exchange.wire_in))
    if not redact:
        return data
    head, sep, rest = data.partition(b"\r\n\r\n")
    return redact_head(head) + sep + rest
