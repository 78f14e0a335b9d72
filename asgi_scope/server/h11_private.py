"""Every use of h11's private internals, in one place.

pyproject pins ``h11>=0.14,<0.17``: the internals read here are those of
0.14 to 0.16 (``Connection._receive_buffer`` and its ``_data``,
``Connection._request_method``, ``Headers._full_items``). Each function says
why h11's public API is not enough, and falls back to the public API (or to
the safe answer) when the internal is missing, so a newer h11 costs speed or
a detail, never a crash. Nothing else in the package reaches into h11.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import h11

from asgi_scope.trace.framing import end_of_section


def header_fields(headers: Sequence[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """A request's header fields (h11's ``Request.headers``) as ASGI's list of
    ``(lower-cased name, value)`` pairs (RFC 9110 §5, ASGI HTTP "Connection Scope").

    h11's ``Headers`` is a ``Sequence`` whose ``__getitem__`` builds one pair per
    index; its private ``_full_items`` holds ``(raw name, name, value)`` triples,
    walked here in one pass. Fallback: iterating the public sequence.
    """
    try:
        items = headers._full_items  # type: ignore[attr-defined]
    except AttributeError:
        return list(headers)
    return [(name, value) for _, name, value in items]


def unconsumed(h: h11.Connection) -> int:
    """Bytes ``h`` has received and not yet turned into events.

    The public ``trailing_data`` copies the whole buffer to a new ``bytes`` on
    every call; its length is all that is needed, once per parsed event.
    Fallback: the length of that copy.
    """
    try:
        return len(h._receive_buffer)  # type: ignore[attr-defined]
    except AttributeError:
        return len(h.trailing_data[0])


def has_obs_fold(h: h11.Connection) -> bool:
    """True if the complete request head waiting in ``h``'s buffer folds a header
    line (a line starting with SP or HTAB, RFC 9112 §5.2). h11 would unfold it;
    a server may instead reject it with 400. A head not yet complete is not
    judged; CRLF and bare-LF line endings alike.

    Searched in place in h11's buffer (a ``bytearray``): the public
    ``trailing_data`` copies it every time a head is looked at. Fallback: that copy.
    """
    data: Any
    try:
        data = h._receive_buffer._data  # type: ignore[attr-defined]
    except AttributeError:
        data = h.trailing_data[0]
    end = end_of_section(data)  # bare-LF heads too: h11 reads them
    if end < 0:
        return False
    return data.find(b"\n ", 0, end) >= 0 or data.find(b"\n\t", 0, end) >= 0


def answering_head(h: h11.Connection) -> bool:
    """True if the response ``h`` is to send answers a ``HEAD`` request, so it
    must have no body (RFC 9110 §9.3.2): h11 frames it so, and raises if a body
    is sent.

    h11 keeps the request's method privately (``_request_method``) and offers
    no public way to ask. Fallback: True, so a response of the server's own
    goes out without its (informational) body rather than raising.
    """
    return getattr(h, "_request_method", b"HEAD") == b"HEAD"
