"""The private-h11 accessors agree with h11's public API, and fall back to it."""

from __future__ import annotations

from dataclasses import dataclass

import h11
import pytest

from asgi_scope.server.h11_private import answering_head, has_obs_fold, header_fields, unconsumed

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
