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
from typing import Any

from asgi_scope.trace.events import Event

DEFAULT_MAX_BODY = 1 << 20
"""Default body cap: bytes of body and raw bytes kept per exchange and direction."""


class Recorder:
    """Stamps events with ``seq`` and ``t_ns`` and queues them for a consumer.

    ``max_body`` (bytes) is the per-exchange, per-direction cap on kept body and
    raw bytes; the server and the shim read it to cut what they record.
    """

    __slots__ = ("_count", "_pending", "_t0", "max_body")

    def __init__(self, max_body: int = DEFAULT_MAX_BODY) -> None:
        self._t0 = time.monotonic_ns()
        self._count = itertools.count(1)
        self._pending: collections.deque[Event] = collections.deque()
        self.max_body = max_body

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
        return [pending.popleft() for _ in range(len(pending))]
