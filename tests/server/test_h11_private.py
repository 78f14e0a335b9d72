"""The private-h11 accessors agree with h11's public API, and fall back to it."""

from __future__ import annotations

from dataclasses import dataclass

import h11
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from asgi_scope.server.h11_private import (
    answering_head,
    has_obs_fold,
    header_fields,
    send_data,
    send_end,
    send_response,
    unconsumed,
)

HEAD = b"GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n\r\n"
FOLDED = b"GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n 2\r\n\r\n"


@dataclass
class PublicOnly:
    """An h11 connection's public face only, as a future h11 might offer."""

    trailing_data: tuple[bytes, bool]


def test_header_fields_match_the_public_sequence():
    h = h11.Connection(h11.SERVER)
    h.receive_data(HEAD)
    request = h.next_event()
    assert isinstance(request, h11.Request)
    assert header_fields(request.headers) == list(request.headers)
    assert header_fields([(b"host", b"x")]) == [(b"host", b"x")]  # no _full_items


@pytest.mark.parametrize(
    ("data", "folded"),
    [
        (HEAD, False),
        (FOLDED, True),
        (FOLDED.replace(b"\r\n", b"\n"), True),
        (HEAD[:-2], False),
    ],
)
def test_obs_fold_and_unconsumed_bytes(data: bytes, folded: bool):
    h = h11.Connection(h11.SERVER)
    h.receive_data(data + b"next")
    for conn in (h, PublicOnly((data + b"next", False))):
        assert has_obs_fold(conn) is folded  # type: ignore[arg-type]
        assert unconsumed(conn) == len(data) + 4  # type: ignore[arg-type]


def test_answering_head():
    h = h11.Connection(h11.SERVER)
    h.receive_data(HEAD.replace(b"GET", b"HEAD", 1))
    h.next_event()
    assert answering_head(h)
    get = h11.Connection(h11.SERVER)
    get.receive_data(HEAD)
    get.next_event()
    assert not answering_head(get)
    assert answering_head(PublicOnly((b"", False)))  # type: ignore[arg-type]  # unknown: no body


FIELDS = [
    (b"content-type", b"text/plain"),
    (b"Content-Length", b"5"),
    (b"content-length", b"3"),
    (b"content-length", b"5, 5"),
    (b"content-length", b"123456789012345678901"),
    (b"content-length", b"x"),
    (b"transfer-encoding", b"chunked"),
    (b"Transfer-Encoding", b"gzip"),
    (b"connection", b"close"),
    (b"connection", b"keep-alive"),
    (b"host", b"example.com"),
    (b"x-empty", b""),
    (b"bad name", b"v"),
    (b"x-bad", b"a\r\nb"),
    (b"x-trailing", b"v "),
    (b"x-obs", b"caf\xc3\xa9"),
]


def _request(method: bytes, version: bytes, extra: bytes) -> bytes:
    length = b"Content-Length: 0\r\n" if method == b"POST" else b""
    return b"%s / HTTP/%s\r\nHost: x\r\n%s%s\r\n" % (method, version, length, extra)


def _outcome(call):
    try:
        return call()
    except h11.LocalProtocolError as exc:
        return ("raised", str(exc), exc.error_status_hint)


def _state(h: h11.Connection):
    """Everything of ``h`` a response head can change (and its reader)."""
    machine = h._cstate  # type: ignore[attr-defined]
    writer = h._writer  # type: ignore[attr-defined]
    return (
        dict(machine.states),
        machine.keep_alive,
        machine.pending_switch_proposals,
        h.they_are_waiting_for_100_continue,
        type(writer),
        vars(writer) if writer else None,
        type(h._reader),  # type: ignore[attr-defined]
    )


STATUSES = [200, 201, 204, 304, 404, 999, 100, 1000, True]


def _same_as_h11(request: bytes, status: int, fields: list[tuple[bytes, bytes]], body: bytes):
    ours, theirs = h11.Connection(h11.SERVER), h11.Connection(h11.SERVER)
    for h in (ours, theirs):
        h.receive_data(request)
        h.next_event()
    head = _outcome(lambda: send_response(ours, status, b"OK", fields))
    expected = _outcome(
        lambda: theirs.send(h11.Response(status_code=status, headers=fields, reason=b"OK"))
    )
    assert head == expected
    assert _state(ours) == _state(theirs)
    if ours.our_state is h11.SEND_BODY:
        sent = _outcome(lambda: send_data(ours, body))
        assert sent == _outcome(lambda: theirs.send(h11.Data(data=body)))
        assert _state(ours) == _state(theirs)
    if ours.our_state is h11.SEND_BODY:
        ended = _outcome(lambda: send_end(ours))
        assert ended == _outcome(lambda: theirs.send(h11.EndOfMessage()))
        assert _state(ours) == _state(theirs)


@pytest.mark.parametrize("method", [b"GET", b"HEAD"])
@pytest.mark.parametrize(
    ("version", "extra"), [(b"1.1", b""), (b"1.1", b"Connection: close\r\n"), (b"1.0", b"")]
)
def test_send_matches_h11s_send_for_every_field(method: bytes, version: bytes, extra: bytes):
    """Every field alone and after each other, every status, to the requests
    whose answer send_response serializes itself (keep-alive or not, HTTP/1.1
    and 1.0): the same bytes or error as h11's send, the same state, writer and
    framing after."""
    lists = [[]] + [[f] for f in FIELDS] + [[f, g] for f in FIELDS for g in FIELDS]
    for status in STATUSES:
        for fields in lists:
            _same_as_h11(_request(method, version, extra), status, fields, b"hello")


@settings(max_examples=300, deadline=None)
@given(
    method=st.sampled_from([b"GET", b"HEAD", b"POST", b"CONNECT"]),
    version=st.sampled_from([b"1.1", b"1.0"]),
    extra=st.sampled_from([b"", b"Connection: close\r\n", b"Expect: 100-continue\r\n"]),
    status=st.sampled_from(STATUSES),
    fields=st.lists(st.sampled_from(FIELDS), max_size=5),
    body=st.sampled_from([b"", b"hello", b"abc", b"toolong!"]),
)
def test_send_matches_h11s_send(method, version, extra, status, fields, body):
    """Any request (HTTP/1.0, close, 100-continue, HEAD, CONNECT), any head and
    body chunk: send_response, send_data and send_end give what h11's send gives."""
    _same_as_h11(_request(method, version, extra), status, fields, body)
