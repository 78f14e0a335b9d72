"""W3C Trace Context: which ``traceparent`` values are honoured, and the ids an
exchange gets (trace/tracecontext.py). Pure: no sockets."""

from __future__ import annotations

import pytest

from asgi_scope.trace.tracecontext import Ids, parse_traceparent

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT = "00f067aa0ba902b7"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (f"00-{TRACE}-{PARENT}-01", (TRACE, PARENT, 1)),
        (f" 00-{TRACE}-{PARENT}-00\t", (TRACE, PARENT, 0)),  # OWS around the value
        (f"01-{TRACE}-{PARENT}-01-more", (TRACE, PARENT, 1)),  # a later version may add fields
        (f"01-{TRACE}-{PARENT}-01", (TRACE, PARENT, 1)),
    ],
)
def test_a_valid_traceparent_is_honoured(value: str, expected: tuple[str, str, int]) -> None:
    parsed = parse_traceparent(value.encode())
    assert parsed is not None
    assert (parsed[0].hex(), parsed[1].hex(), parsed[2]) == expected


@pytest.mark.parametrize(
    "value",
    [
        f"00-{TRACE}-{PARENT}-01-more",  # version 00 is exactly 55 characters (§3.2.4)
        f"ff-{TRACE}-{PARENT}-01",  # version ff is invalid (§3.2.2.1)
        f"00-{'0' * 32}-{PARENT}-01",  # an all-zero trace id (§3.2.2.3)
        f"00-{TRACE}-{'0' * 16}-01",  # an all-zero parent id (§3.2.2.4)
        f"00-{TRACE.upper()}-{PARENT}-01",  # hex is lowercase
        f"00-{TRACE[:-1]}-{PARENT}-01",
        f"01-{TRACE}-{PARENT}-01x",
        "",
        "garbage",
    ],
)
def test_an_invalid_traceparent_is_ignored(value: str) -> None:
    assert parse_traceparent(value.encode()) is None


def test_an_exchange_joins_the_callers_trace() -> None:
    ids = Ids(bytes(16))
    headers = [(b"host", b"x"), (b"Traceparent", f"00-{TRACE}-{PARENT}-01".encode())]
    context = ids.of(7, headers)
    assert (context.trace_hex, context.parent_id.hex(), context.flags) == (TRACE, PARENT, 1)
    assert context.span_id == ids.of(7, None).span_id  # its own span, whoever called


def test_new_ids_are_stable_in_a_process_and_differ_between_processes() -> None:
    one, other = Ids(bytes(16)), Ids(b"\x01" * 16)
    assert one.of(3, []) == one.of(3, [])
    assert one.of(3, []).trace_id != one.of(4, []).trace_id
    assert one.of(3, []).trace_id != other.of(3, []).trace_id
    assert one.of(3, []).parent_id == b""
    assert len(one.of(3, []).trace_id) == 16 and len(one.of(3, []).span_id) == 8
    assert one.layer_span(3, 10) != one.layer_span(3, 11) != one.of(3, []).span_id
