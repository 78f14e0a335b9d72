"""The raw bytes of a recorded request, as they came off the socket.

The request head (request line and headers, RFC 9112 §2.1) and the body with
its framing (Content-Length or chunked), exactly as received, from the kept
received bytes of the exchange's connection. Unless told otherwise, the head
and a chunked body's trailer section are redacted field by field (the parts
are found as :mod:`asgi_scope.trace.framing` finds them, bare-LF line endings
included), and so is a form body (``application/x-www-form-urlencoded``, not
chunked), whose ``Content-Length`` then no longer matches; nothing else is
changed.
"""

from __future__ import annotations

from asgi_scope.export.redact import DEFAULT, FORM, Redactor
from asgi_scope.trace.framing import parts
from asgi_scope.trace.store import Exchange, Store

FIELD_SECTIONS = frozenset({"head", "trailers"})
"""The parts of a request whose lines are header fields."""


def raw_request(store: Store, exchange: Exchange, *, redact: Redactor | None = DEFAULT) -> bytes:
    """The received bytes of ``exchange`` (empty if none were kept), redacted by
    ``redact`` (None: as received). A body cap may have cut them: compare with
    ``exchange.bytes_in``."""
    conn = store.connections.get(exchange.conn)
    if conn is None or exchange.wire_in is None:
        return b""
    data = b"".join(chunk for _, chunk in conn.slice("in", exchange.wire_in))
    if redact is None:
        return data
    headers = (exchange.scope or {}).get("headers") or []
    form = any(
        n == b"content-type" and v.split(b";")[0].strip().lower() == FORM
        for n, v in headers
        if isinstance(n, bytes) and isinstance(v, bytes)
    )
    start = exchange.wire_in[0]
    out = []
    done = 0
    for part in parts(data, start):
        begin, end = part.start - start, part.end - start
        if part.kind in FIELD_SECTIONS:
            out += [data[done:begin], redact.head(data[begin:end])]
            done = end
        elif part.kind == "body" and form:
            out += [data[done:begin], redact.query(data[begin:end])]
            done = end
    out.append(data[done:])
    return b"".join(out)
