"""The recorder: keyword fields, per-kind emitters, the bounded variant. No sockets."""

from __future__ import annotations

import pytest

from asgi_scope.remote.sender import BoundedRecorder
from asgi_scope.trace.events import MessageSent, ServerNote
from asgi_scope.trace.recorder import Recorder


def test_record_takes_fields_by_name_and_stamps_seq_and_time():
    recorder = Recorder()
    first = recorder.record(ServerNote, conn=0, level="info", text="a")
    second = recorder.record(MessageSent, conn=1, exchange=2, message={"type": "x"}, dropped=0)
    assert (first.seq, second.seq) == (1, 2)
    assert 0 <= first.t_ns <= second.t_ns
    assert (second.conn, second.exchange, second.dropped) == (1, 2, 0)
    assert recorder.drain() == [first, second]


def test_emit_and_record_share_one_counter_and_one_queue():
    recorder = Recorder()
    a = recorder.emit[MessageSent](conn=1, exchange=1, message={}, dropped=0)
    b = recorder.record(MessageSent, conn=1, exchange=1, message={}, dropped=0)
    assert (a.seq, b.seq) == (1, 2)
    assert recorder.emit[MessageSent] is recorder.emit[MessageSent]  # made once
    assert recorder.drain() == [a, b]


@pytest.mark.parametrize(
    "fields",
    [
        {"conn": 0, "level": "info"},  # text missing
        {"conn": 0, "level": "info", "text": "a", "extra": 1},
    ],
)
def test_a_missing_or_unknown_field_raises_type_error(fields):
    recorder = Recorder()
    with pytest.raises(TypeError):
        recorder.record(ServerNote, **fields)
    assert recorder.drain() == []


def test_positional_fields_are_refused():
    with pytest.raises(TypeError):
        Recorder().record(ServerNote, 0, "info", "a")  # type: ignore[call-arg]


def test_the_bounded_recorder_still_returns_events_past_its_limit_and_counts_them():
    recorder = BoundedRecorder(limit=2)
    events = [recorder.record(ServerNote, conn=0, level="info", text=str(i)) for i in range(3)]
    events.append(recorder.emit[ServerNote](conn=0, level="info", text="3"))
    assert [e.seq for e in events] == [1, 2, 3, 4]
    assert recorder.dropped == 2
    assert [e.text for e in recorder.drain()] == ["0", "1"]
