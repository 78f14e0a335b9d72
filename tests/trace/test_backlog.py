"""Bounded backlogs: past the bound, dropped with a count and one note at the gap."""

from __future__ import annotations

import threading

from asgi_scope.trace.backlog import Backlog
from asgi_scope.trace.capture import CaptureWriter, Header, read_capture
from asgi_scope.trace.channel import RelayRecorder
from asgi_scope.trace.events import ServerNote


def _notes(first: int, n: int) -> list[ServerNote]:
    return [ServerNote(seq, seq * 10, 0, "info", f"n{seq}") for seq in range(first, first + n)]


def test_a_full_backlog_drops_and_notes_the_gap_where_it_was():
    backlog = Backlog("the printer", limit=10)
    backlog.put(_notes(1, 6))
    backlog.put(_notes(7, 5))  # 11 > 10: dropped whole
    backlog.put(_notes(12, 5))  # dropped too: the first batch is still waiting
    assert backlog.gap.dropped == 10
    assert [e.seq for e in backlog.get()] == [1, 2, 3, 4, 5, 6]
    backlog.put(_notes(17, 2))
    (note,) = backlog.get()
    assert note.text == "dropped 10 events: the printer could not keep up"
    assert (note.seq, note.t_ns, note.level) == (7, 70, "warning")  # at the gap
    assert [e.seq for e in backlog.get()] == [17, 18]
    backlog.put(_notes(19, 20))  # alone: it fits, bigger than the limit or not
    backlog.put(_notes(39, 1))  # a gap at the end is told when it closes
    backlog.close()
    assert len(backlog.get()) == 20
    assert backlog.get()[0].text == "dropped 1 events: the printer could not keep up"
    assert backlog.get() is None


def test_put_never_waits_for_a_consumer_that_does_not_take():
    backlog = Backlog("the printer", limit=100)
    done = threading.Event()

    def produce() -> None:
        for first in range(1, 100_000, 10):
            backlog.put(_notes(first, 10))
        done.set()

    threading.Thread(target=produce, daemon=True).start()
    assert done.wait(30), "put() waited for the consumer"
    assert backlog.gap.dropped == 100_000 - 100  # the first 100 fit


def test_the_capture_writer_writes_the_note_at_the_gap(tmp_path):
    path = tmp_path / "c.jsonl"
    writer = CaptureWriter(path, Header(app="a:b", started_ns=0))
    writer(_notes(1, 2))
    writer.backlog.gap.drop(_notes(3, 20))  # as put() does when the writer is behind
    writer(_notes(23, 2))
    writer.close()
    events = read_capture(path).events
    assert [e.seq for e in events] == [1, 2, 3, 23, 24]
    assert events[2].text == "dropped 20 events: the capture writer could not keep up"
    assert events[2].t_ns == 30


def test_the_relay_drops_while_the_view_does_not_drain_and_notes_it():
    relay = RelayRecorder(limit=4)
    causes: dict[int, int] = {}
    relay.relay(_notes(1, 4), causes)
    relay.relay(_notes(5, 3), causes)  # the view has not drained: dropped
    assert [e.text for e in relay.drain()] == ["n1", "n2", "n3", "n4"]
    relay.relay(_notes(8, 1), causes)
    note, kept = relay.drain()
    assert note.text == "dropped 3 events: the view could not keep up"
    assert note.t_ns == 50 and note.seq < kept.seq  # where the gap was, in order
    assert kept.text == "n8"
