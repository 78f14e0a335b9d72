"""Bounded backlogs of events: drop with a count, never make the producer wait.

Between the server and a consumer that may fall behind (a terminal the headless
printer writes to, a disk the capture writer writes to, a TUI that drains the
inspector's relay) events wait in a queue. Each such queue is bounded in
events; past the bound new events are dropped, counted, and one
:class:`~asgi_scope.trace.events.ServerNote` ("dropped N events: the capture
writer could not keep up") takes their place, at the gap, once the consumer
catches up. :class:`Gap` counts and makes the note; :class:`Backlog` is the
queue of batches a consumer thread takes from; :class:`BoundedRelay` the
recorder of events relayed from elsewhere (an app process, attach streams).
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Sequence

from asgi_scope.trace.events import Event, ServerNote
from asgi_scope.trace.recorder import DEFAULT_MAX_BODY, Recorder

LIMIT = 20_000
"""Events a backlog holds at most (about 10 MB of small events; bodies and raw
bytes in them are cut at ``--max-body`` per exchange); past it new events are
dropped and counted."""


class Gap:
    """Events dropped in a row, and the one note that says so.

    :attr:`dropped` counts every event dropped so far; :meth:`note` the ones
    since the last note.
    """

    __slots__ = ("_first", "_missing", "dropped", "who")

    def __init__(self, who: str) -> None:
        self.who = who
        """Who could not keep up, as the note says it (``"the capture writer"``)."""
        self.dropped = 0
        self._missing = 0  # dropped since the last note
        self._first: tuple[int, int] = (0, 0)  # (seq, t_ns) of the first of them

    def __bool__(self) -> bool:
        """True while events were dropped that no note has told of yet."""
        return self._missing > 0

    def drop(self, events: Sequence[Event]) -> None:
        """Count ``events`` (oldest first) as dropped."""
        if events:
            if not self._missing:
                self._first = (events[0].seq, events[0].t_ns)
            self._missing += len(events)
            self.dropped += len(events)

    def note(self) -> ServerNote:
        """The warning note for the events dropped since the last one, with the
        ``seq`` and ``t_ns`` of the first of them (where the gap is); the count
        starts again."""
        seq, t_ns = self._first
        text = f"dropped {self._missing} events: {self.who} could not keep up"
        self._missing = 0
        return ServerNote(seq, t_ns, 0, "warning", text)


class Backlog:
    """A queue of event batches, at most ``limit`` events, from a producer that
    must never wait (the drain of the view's loop) to one consumer thread.

    :meth:`put` never blocks: a batch that does not fit is dropped whole and
    counted in :attr:`gap` (a batch alone in the backlog always fits: it is
    in memory already; so the bound is ``limit`` events plus one batch).
    :meth:`get` waits for the next batch; after a gap it starts with the gap's
    note. :meth:`close` ends it: :meth:`get` returns what is left, then None.
    """

    def __init__(self, who: str, limit: int = LIMIT) -> None:
        self.limit = limit
        self.gap = Gap(who)
        self._batches: collections.deque[Sequence[Event]] = collections.deque()
        self._size = 0  # events in _batches
        self._closed = False
        self._ready = threading.Condition(threading.Lock())

    def put(self, batch: Sequence[Event]) -> None:
        """Queue ``batch`` (oldest first), or drop it if the backlog is full."""
        if not batch:
            return
        with self._ready:
            if self._size and self._size + len(batch) > self.limit:
                self.gap.drop(batch)
                return
            if self.gap:
                self._batches.append([self.gap.note()])
                self._size += 1
            self._batches.append(batch)
            self._size += len(batch)
            self._ready.notify()

    def get(self) -> Sequence[Event] | None:
        """The oldest batch, waiting for one; None once closed and empty (a gap
        at the end is told first)."""
        with self._ready:
            while not self._batches and not self._closed:
                self._ready.wait()
            if self._batches:
                batch = self._batches.popleft()
                self._size -= len(batch)
                return batch
            if self.gap:
                return [self.gap.note()]
            return None

    def close(self) -> None:
        """No more batches: :meth:`get` returns None once the rest is taken."""
        with self._ready:
            self._closed = True
            self._ready.notify()


class BoundedRelay(Recorder):
    """A :class:`~asgi_scope.trace.recorder.Recorder` that also queues events
    relayed from elsewhere (:meth:`admit` them first), at most ``limit`` waiting
    for the view to drain: past it they are dropped and counted in :attr:`gap`,
    whose note is queued, with the next ``seq``, once there is room again. The
    recorder's own events (notes) are never dropped; the app process, or the
    stream, is never held up by a view slower than it.
    """

    __slots__ = ("gap", "limit")

    def __init__(self, max_body: int = DEFAULT_MAX_BODY, limit: int = LIMIT) -> None:
        super().__init__(max_body)
        self.limit = limit
        """Events waiting, past which relayed events are dropped."""
        self.gap = Gap("the view")

    def admit(self, events: Sequence[Event]) -> bool:
        """True if ``events`` may be queued now; False (counted as dropped) while
        :attr:`limit` events wait. After a gap, its note is queued first."""
        if len(self._pending) >= self.limit:
            self.gap.drop(events)
            return False
        if self.gap:
            note = self.gap.note()
            note.seq = next(self._count)
            self._pending.append(note)
        return True
