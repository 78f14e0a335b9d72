"""Addresses of streams (asgi_scope.remote.stream): what the middleware and attach accept."""

from __future__ import annotations

import pytest

from asgi_scope.remote.stream import Address, AddressError, parse_address


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("unix:/tmp/a.sock", Address("unix", path="/tmp/a.sock")),
        ("tcp:127.0.0.1:9100", Address("tcp", host="127.0.0.1", port=9100)),
        ("127.0.0.1:9100", Address("tcp", host="127.0.0.1", port=9100)),
        ("localhost:1", Address("tcp", host="localhost", port=1)),
        ("[::1]:9100", Address("tcp", host="::1", port=9100)),
        ("file:trace.jsonl", Address("file", path="trace.jsonl")),
        ("trace.jsonl", Address("file", path="trace.jsonl")),
        ("./logs/x:1", Address("file", path="./logs/x:1")),
    ],
)
def test_addresses(text: str, address: Address):
    assert parse_address(text) == address


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("10.0.0.1:9100", "only loopback hosts"),
        ("example.com:80", "only loopback hosts"),
        ("127.0.0.1:99999", "not HOST:PORT"),
        ("unix:", "no socket path"),
        ("", "empty address"),
    ],
)
def test_bad_addresses_say_why_in_one_line(text: str, words: str):
    with pytest.raises(AddressError) as error:
        parse_address(text)
    assert words in str(error.value) and "\n" not in str(error.value)


def test_attach_takes_sockets_only():
    with pytest.raises(AddressError, match="open a file with `open`"):
        parse_address("file:x.jsonl", files=False)
    with pytest.raises(AddressError, match="not a socket address"):
        parse_address("x.jsonl", files=False)
    assert str(parse_address("[::1]:5", files=False)) == "tcp:[::1]:5"
