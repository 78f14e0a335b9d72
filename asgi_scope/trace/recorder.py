"""The recorder: where the server and the shim append events.

Recording is the hot path's only tracing cost: build one small immutable event
and append it to a deque. The server thread appends; one consumer (the
:class:`~asgi_scope.trace.store.Store` in the UI or console thread) drains in
batches. ``deque.append`` and ``deque.popleft`` are atomic in CPython, so no lock
is needed for one writer and one drainer.
"""

from __future__ import annotations

import collections
import itertools
import time
from collections.abc import Callable
from typing import Any

from asgi_scope.trace.events import Event

DEFAULT_MAX_BODY = 1 << 20
"""Default body cap: bytes of body and raw bytes kept per exchange and direction."""


class Recorder:
    """Stamps events with ``seq`` and ``t_ns`` and queues them for a consumer.

    ``max_body`` (bytes) is the per-exchange, per-direction cap on kept body and
    raw bytes; the server and the shim read it to cut what they record.

    ``taps`` are callables handed each drained batch (a list of events) before
    :meth:`drain` returns it: the one fan-out point where a second consumer, such
    as the capture writer, sees exactly what the view's store sees, in the
    consumer's thread, never the server's. A tap must be quick (queue, not write).
    """

    __slots__ = ("_count", "_pending", "_t0", "gate", "max_body", "taps")

    def __init__(self, max_body: int = DEFAULT_MAX_BODY) -> None:
        self._t0 = time.monotonic_ns()
        self._count = itertools.count(1)
        self._pending: collections.deque[Event] = collections.deque()
        self.max_body = max_body
        self.taps: list[Callable[[list[Event]], None]] = []
        self.gate: Any = None
        """Step mode's :class:`~asgi_scope.trace.step.Gate`, read by each new shim (None: off)."""

    def record(self, kind: type[Event], *fields: Any) -> Event:
        """Append ``kind(seq, t_ns, *fields)`` and return it."""
        event = kind(next(self._count), time.monotonic_ns() - self._t0, *fields)
        self._pending.append(event)
        return event

    def now(self) -> int:
        """Monotonic nanoseconds since the session started."""
        return time.monotonic_ns() - self._t0

    def drain(self) -> list[Event]:
        """Remove and return every queued event, oldest first."""
        pending = self._pending
        batch = [pending.popleft() for _ in range(len(pending))]
        if batch:
            for tap in self.taps:
                tap(batch)
        return batch
