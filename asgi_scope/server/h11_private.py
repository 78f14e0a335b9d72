"""Every use of h11's private internals, in one place.

pyproject pins ``h11>=0.14,<0.17``: the internals read here are those of
0.14 to 0.16 (``Connection._receive_buffer`` and its ``_data``,
``Connection._request_method``, ``Headers._full_items``; to send, the
field regexes, the body writers, ``Connection._cstate`` (the state machine),
``_process_error`` and ``_writer``). Each function says
why h11's public API is not enough, and falls back to the public API (or to
the safe answer) when the internal is missing, so a newer h11 costs speed or
a detail, never a crash. Nothing else in the package reaches into h11.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import h11

from asgi_scope.trace.framing import end_of_section

try:
    from h11._headers import CONTENT_LENGTH_MAX_DIGITS as _LENGTH_DIGITS
    from h11._headers import _field_name_re, _field_value_re
    from h11._writers import WRITERS

    _BODY_WRITERS: Any = WRITERS[h11.SEND_BODY]

    _field_name_ok, _field_value_ok = _field_name_re.fullmatch, _field_value_re.fullmatch
    _probe = h11.Connection(h11.SERVER)
    _FAST = all(
        hasattr(_probe, name)
        for name in ("_cstate", "_request_method", "_process_error", "_writer")
    )
    del _probe
except (ImportError, KeyError, AttributeError):  # another h11: its public send(), always
    _FAST = False

# Response header names whose fields change the framing or h11's handling of
# the head: a head with any of them but one plain Content-Length goes through
# h11's own send().
_FRAMING = frozenset((b"content-length", b"transfer-encoding", b"connection", b"host"))

_CHECKED: dict[tuple[bytes, bytes], bytes] = {}
# Response fields h11's regexes passed, (name, value) -> the name lower-cased:
# an app sends the same few fields again and again. At most _CHECKED_MAX of
# them, each of at most _CHECKED_FIELD bytes, name and value together.
_CHECKED_MAX = 256
_CHECKED_FIELD = 128


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


def send_response(
    h: h11.Connection, status: int, reason: bytes, fields: list[tuple[bytes, bytes]]
) -> bytes:
    """``h.send(h11.Response(status_code=status, headers=fields, reason=reason))``:
    the response head's bytes (RFC 9112 §4), ``h`` past it to send the body; the
    same bytes, the same state after, the same ``h11.LocalProtocolError``.

    h11's ``send`` validates the fields three times over (the event, the framing
    clean-up, the event again) and looks each framing field up five times. For
    the usual head (an int status of 200 to 999, valid fields, at most one plain
    ``Content-Length``, no ``Transfer-Encoding``, ``Connection`` or ``Host``, to
    an HTTP/1.1 or 1.0 client that proposed no protocol switch) the fields are
    checked once here with h11's own regexes, the framing chosen as h11 chooses
    it (a length unknown: ``Transfer-Encoding: chunked`` for HTTP/1.1, the body
    delimited by the close for HTTP/1.0, RFC 9112 §6.1, §6.3; no body for HEAD,
    204 and 304, RFC 9110 §6.4.1; ``Connection: close`` unless the connection is
    kept alive, §9.6), the head written as h11 writes it, and h11's state machine
    told of a ``Response`` (its transition table still decides), with the body
    writer h11 would pick. Any other head, and a newer h11: its ``send``.
    ``fields`` must be ``(bytes, bytes)`` tuples (as the request cycle builds
    them); h11 also takes ``str`` and lists, this does not.
    """
    head = _usual_head(h, status, reason, fields) if _FAST else None
    if head is None:
        return h.send(h11.Response(status_code=status, headers=fields, reason=reason))
    return head


def _usual_head(
    h: Any, status: int, reason: bytes, fields: list[tuple[bytes, bytes]]
) -> bytes | None:
    """:func:`send_response` for the usual head, or None (nothing done) for any other."""
    machine = h._cstate
    version = h.their_http_version
    if (
        type(status) is not int
        or not 200 <= status < 1000
        or h.our_state is not h11.SEND_RESPONSE
        or (version != b"1.1" and version != b"1.0")
        or machine.pending_switch_proposals
    ):
        return None
    checked = _CHECKED
    length = -1
    for field in fields:
        lower = checked.get(field)
        name, value = field
        if lower is None:
            if not (_field_name_ok(name) and _field_value_ok(value)):
                return None  # h11 says which one
            lower = name.lower()
            if len(name) + len(value) <= _CHECKED_FIELD:
                if len(checked) >= _CHECKED_MAX:
                    checked.clear()
                checked[field] = lower
        if lower in _FRAMING:
            if lower != b"content-length" or length >= 0 or not value.isdigit():
                return None
            if len(value) > _LENGTH_DIGITS:
                return None
            length = int(value)
    lines = [b"HTTP/1.1 %d %s" % (status, reason)]
    lines += [name + b": " + value for name, value in fields]
    framing = "content-length"
    bodiless = status == 204 or status == 304
    if length < 0 and not bodiless:
        if version == b"1.1":
            lines.append(b"Transfer-Encoding: chunked")
            framing = "chunked"
        else:
            framing = "http/1.0"  # close-delimited (RFC 9112 §6.3 ¶8)
    if not machine.keep_alive:
        # The request said close, or was HTTP/1.0 (h11 keeps no HTTP/1.0
        # connection alive, which covers a close-delimited body too).
        lines.append(b"Connection: close")
    if bodiless or h._request_method == b"HEAD":
        framing, length = "content-length", 0
    machine.process_event(h11.SERVER, h11.Response)
    h.client_is_waiting_for_100_continue = False
    writer = _BODY_WRITERS[framing]
    h._writer = writer(length) if framing == "content-length" else writer()
    lines.append(b"\r\n")
    return b"\r\n".join(lines)


def send_data(h: h11.Connection, data: bytes) -> bytes:
    """``h.send(h11.Data(data=data))``: ``data`` framed for the body being sent
    (RFC 9112 §6, §7.1); the same bytes and errors (too much for the
    ``Content-Length``: ``h11.LocalProtocolError``, ``h`` then in ``ERROR``).

    A body chunk changes no state in h11: in ``SEND_BODY`` it goes straight to
    h11's body writer, without the event and the state machine's round trip.
    Otherwise, and with a newer h11: its ``send``.
    """
    if not _FAST or h.our_state is not h11.SEND_BODY:
        return h.send(h11.Data(data=data))  # type: ignore[return-value]
    out: list[bytes] = []
    try:
        h._writer.send_data(data, out.append)  # type: ignore[attr-defined]
    except BaseException:
        h._process_error(h11.SERVER)  # type: ignore[attr-defined]
        raise
    return b"".join(out)


_END = h11.EndOfMessage()  # events are immutable: one for every body's end


def send_end(h: h11.Connection) -> bytes:
    """``h.send(h11.EndOfMessage())``: the end of the body being sent (the last
    chunk of a chunked body, RFC 9112 §7.1; nothing otherwise); the same bytes,
    state after and errors (a body shorter than its ``Content-Length``:
    ``h11.LocalProtocolError``, ``h`` then in ``ERROR``).

    In ``SEND_BODY``, h11's state machine is told of it directly and its body
    writer ends the body: the end of a response changes no state of the
    client's and leaves h11 no writer (it has none for ``DONE`` or
    ``MUST_CLOSE``). Otherwise, and with a newer h11: its ``send``.
    """
    if not _FAST or h.our_state is not h11.SEND_BODY:
        return h.send(_END)  # type: ignore[return-value]
    writer = h._writer  # type: ignore[attr-defined]
    out: list[bytes] = []
    try:
        h._cstate.process_event(h11.SERVER, h11.EndOfMessage)  # type: ignore[attr-defined]
        h._writer = None  # type: ignore[attr-defined]
        writer.send_eom(_END.headers, out.append)
    except BaseException:
        h._process_error(h11.SERVER)  # type: ignore[attr-defined]
        raise
    return b"".join(out)
