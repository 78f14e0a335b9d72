"""The channel's frames: events round-trip, only plain values come out, sizes are
bounded, and the relay keeps one order and the causes pointing right."""

from __future__ import annotations

import pickle
import struct

import pytest

from asgi_scope.trace.capture import Opaque
from asgi_scope.trace.channel import (
    MAX_FRAME,
    ChannelError,
    FrameReader,
    RelayRecorder,
    decode_events,
    events_frame,
    frame,
)
from asgi_scope.trace.events import (
    BytesSent,
    ExchangeEnded,
    MessageSent,
    ScopeCreated,
    ServerNote,
)


def read(data: bytes) -> list[tuple[str, object]]:
    return list(FrameReader().feed(data))


def test_events_round_trip_byte_by_byte() -> None:
    sent = MessageSent(3, 10, 1, 2, {"type": "http.response.body", "body": b"hi"}, 0)
    data, lost = events_frame([sent, BytesSent(4, 11, 1, 2, 0, b"hi", 2, 3)])
    assert lost == 0
    reader = FrameReader()
    frames = [f for i in range(len(data)) for f in reader.feed(data[i : i + 1])]
    assert [tag for tag, _ in frames] == ["events"]
    events = decode_events(frames[0][1])
    assert events[0] == sent and events[1].cause == 3


def test_an_apps_objects_arrive_as_their_repr() -> None:
    class Mine:
        def __repr__(self) -> str:
            return "<mine>"

    class Name(str):
        pass

    data, _ = events_frame([MessageSent(1, 1, 1, 1, {"obj": Mine(), "n": Name("x")}, 0)])
    ((_, value),) = read(data)
    message = decode_events(value)[0].message  # type: ignore[attr-defined]
    assert isinstance(message["obj"], Opaque) and repr(message["obj"]) == "<mine>"
    assert type(message["n"]) is str and message["n"] == "x"


def test_a_value_that_contains_itself_crosses_whole() -> None:
    looped: dict[str, object] = {"type": "http.response.start", "status": 200}
    looped["self"] = looped
    data, lost = events_frame([MessageSent(1, 1, 1, 1, looped, 0)])
    ((_, value),) = read(data)
    message = decode_events(value)[0].message  # type: ignore[attr-defined]
    assert lost == 0 and message["status"] == 200 and message["self"] is message


def test_a_pickle_naming_a_class_or_function_is_refused() -> None:
    payload = pickle.dumps(("events", [print]))
    with pytest.raises(ChannelError, match="plain values only"):
        read(struct.pack(">I", len(payload)) + payload)


def test_a_frame_longer_than_the_limit_is_refused_before_it_is_read() -> None:
    with pytest.raises(ChannelError, match="at most"):
        read(struct.pack(">I", MAX_FRAME + 1))


@pytest.mark.parametrize("rows", [[0, 1, 2], [10**6], [-1, 1, 2, 3], ["x"], [(0, (1, 2))], 5])
def test_rows_that_are_not_events_are_refused(rows: object) -> None:
    with pytest.raises(ChannelError):
        decode_events(rows)


def test_relay_numbers_in_arrival_order_and_moves_causes() -> None:
    recorder = RelayRecorder()
    recorder.record(ServerNote, conn=0, level="info", text="ours first")
    causes: dict[int, int] = {}
    sent = MessageSent(7, 5, 1, 1, {"type": "http.response.body"}, 0)
    recorder.relay([sent, BytesSent(8, 6, 1, 1, 0, b"", 0, 7)], causes)
    events = recorder.drain()
    assert [e.seq for e in events] == [1, 2, 3]
    assert events[2].cause == 2  # type: ignore[attr-defined]


def test_a_frame_carries_commands_too() -> None:
    assert read(frame("gate", ("step", (3,)))) == [("gate", ("step", (3,)))]


def test_a_scope_crosses_once_when_the_app_left_it_as_it_was() -> None:
    scope = {"type": "http", "path": "/the-path", "headers": [(b"host", b"x")]}
    changed = {**scope, "route": "/"}
    written: dict[int, object] = {}
    first, _ = events_frame([ScopeCreated(1, 1, 1, 7, scope, None)], written)
    same, _ = events_frame([ExchangeEnded(2, 2, 1, 7, scope, "complete", 200)], written)
    events_frame([ScopeCreated(3, 3, 1, 8, scope, None)], written)
    other, _ = events_frame([ExchangeEnded(4, 4, 1, 8, changed, "complete", 200)], written)
    assert b"the-path" not in same and b"the-path" in other
    read_back: dict[int, object] = {}
    created, ended = (decode_events(read(data)[0][1], read_back)[0] for data in (first, same))
    assert ended.scope is created.scope and ended.scope == scope  # type: ignore[attr-defined]
    assert ended.status == 200 and not written and not read_back  # type: ignore[attr-defined]


def test_both_maps_of_scopes_start_again_at_the_same_frame(monkeypatch) -> None:
    """An end that could not cross leaves its scope in the reader's map; the
    writer's reset, told in the frame, still clears both at once, so an exchange
    that straddles it gets its own scope back, not an empty one."""
    from asgi_scope.trace import channel

    monkeypatch.setattr(channel, "MAX_SCOPES", 3)
    written: dict[int, object] = {}
    read_back: dict[int, object] = {}

    def cross(event: object) -> list[object]:
        data, _ = events_frame([event], written)  # type: ignore[list-item]
        return decode_events(read(data)[0][1], read_back)  # type: ignore[return-value]

    deep: list[object] = []
    for _ in range(100_000):  # past the pickler's recursion limit: this end is left out
        deep = [deep]
    for exchange in (1, 2, 3):
        cross(ScopeCreated(exchange, 0, 1, exchange, {"type": "http"}, None))
        assert cross(ExchangeEnded(exchange, 0, 1, exchange, {"deep": deep}, "complete", 200)) == []
    assert len(read_back) == 3 and not written  # the reader's map went apart
    scope = {"type": "http", "path": "/straddles"}
    cross(ScopeCreated(4, 0, 1, 4, scope, None))
    (ended,) = cross(ExchangeEnded(5, 0, 1, 4, scope, "complete", 200))
    assert ended.scope == scope  # type: ignore[attr-defined]
