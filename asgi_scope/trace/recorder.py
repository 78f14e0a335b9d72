"""The recorder: where the server and the shim append events.

Recording is the hot path's only tracing cost: build one small immutable event
and append it to a deque. The server thread appends; one consumer (the
:class:`~asgi_scope.trace.store.Store` in the UI or console thread) drains in
batches. ``deque.append`` and ``deque.popleft`` are atomic in CPython, so no lock
is needed for one writer and one drainer.
"""

from __future__ import annotations

import collections
import dataclasses
import itertools
import time
from collections.abc import Callable
from typing import Any, TypeVar

from asgi_scope.trace.events import Event

E = TypeVar("E", bound=Event)

DEFAULT_MAX_BODY = 1 << 20
"""Default body cap: bytes of body and raw bytes kept per exchange and direction."""


class Recorder:
    """Stamps events with ``seq`` and ``t_ns`` and queues them for a consumer.

    ``t0_ns`` is the monotonic clock's reading (nanoseconds) at ``t_ns`` 0: now
    unless given (an app process counts from its inspector's start).
    ``max_body`` (bytes) is the per-exchange, per-direction cap on kept body and
    raw bytes; the server and the shim read it to cut what they record.

    ``taps`` are callables handed each drained batch (a list of events) before
    :meth:`drain` returns it: the one fan-out point where a second consumer, such
    as the capture writer, sees exactly what the view's store sees, in the
    consumer's thread, never the server's. A tap must be quick (queue, not write).
    A tap may drop events from the batch in place (the rule muting of
    :class:`~asgi_scope.trace.spec.Mute` does, first); the taps after it and the
    caller see what is left.
    """

    __slots__ = (
        "_clock",
        "_count",
        "_pending",
        "_t0",
        "emit",
        "gate",
        "handoff",
        "max_body",
        "taps",
    )

    _KEEP = "append(event)"
    """The line of an emitter that queues ``event`` (see :meth:`_emitter`)."""

    def __init__(self, max_body: int = DEFAULT_MAX_BODY, t0_ns: int | None = None) -> None:
        self._clock: Callable[[], int] = time.monotonic_ns
        self._t0 = self._clock() if t0_ns is None else t0_ns
        self._count = itertools.count(1)
        self._pending: collections.deque[Event] = collections.deque()
        self.max_body = max_body
        self.taps: list[Callable[[list[Event]], None]] = []
        self.gate: Any = None
        """Step mode's :class:`~asgi_scope.trace.step.Gate`, read by each new shim (None: off)."""
        self.handoff: Callable[[], None] | None = None
        """Called by the shim just before control goes back to the app (a message
        handed over or taken): the app process writes what it recorded to the
        inspector then, so an app that kills its process loses none of it."""
        self.emit = _Emitters(self)
        """The emitter of each event class: ``emit[MessageSent](conn=1, exchange=2,
        message=m, dropped=0)`` records as :meth:`record` does, without its
        ``**fields`` dict. For the hot path (bytes, messages, frames)."""

    def record(self, kind: type[E], /, **fields: Any) -> E:
        """Stamp ``kind(seq=..., t_ns=..., **fields)``, queue it and return it.

        ``fields`` are every field of ``kind`` but ``seq`` and ``t_ns``, by name;
        a missing or unknown one raises :exc:`TypeError`. About 40% slower than
        :attr:`emit`'s per-kind emitter (it builds and unpacks a dict), so the hot
        path uses that; the same emitter stamps both.
        """
        return self.emit[kind](**fields)

    def now(self) -> int:
        """Monotonic nanoseconds since the session started."""
        return self._clock() - self._t0

    def _emitter(self, kind: type[E]) -> Callable[..., E]:
        """A function taking ``kind``'s fields (but ``seq`` and ``t_ns``) as
        keyword-only arguments that stamps, queues (:attr:`_KEEP`) and returns one
        ``kind``. Generated once per class, as :mod:`dataclasses` builds
        ``__init__``: keywords bound to named parameters cost no dict, and the event's
        slots are set here, as its ``__init__`` would set them (events have no
        ``__post_init__``), without the call of the class and its ``__init__``.
        Raises ``TypeError`` for a class with a ``__post_init__``."""
        if hasattr(kind, "__post_init__"):
            raise TypeError(f"{kind.__name__} has a __post_init__ the emitter would skip")
        fields = dataclasses.fields(kind)[2:]
        params = ", ".join(  # a field with a default (ServerNote.exchange) may be left out
            f.name if f.default is dataclasses.MISSING else f"{f.name}=default_{f.name}"
            for f in fields
        )
        stores = "".join(f"    event.{f.name} = {f.name}\n" for f in fields)
        source = (
            f"def emit(*, {params}):\n"
            "    event = new(kind)\n"
            "    event.seq = next(count)\n"
            "    event.t_ns = clock() - t0\n"
            f"{stores}"
            f"    {self._KEEP}\n"
            "    return event\n"
        )
        scope: dict[str, Any] = {
            "kind": kind,
            "new": object.__new__,
            "count": self._count,
            "clock": self._clock,
            "t0": self._t0,
            "recorder": self,
            "pending": self._pending,
            "append": self._pending.append,
            **{f"default_{f.name}": f.default for f in fields},
        }
        exec(source, scope)
        emit = scope["emit"]
        emit.__qualname__ = f"{type(self).__name__}.emit[{kind.__name__}]"
        return emit

    def drain(self) -> list[Event]:
        """Remove and return every queued event, oldest first."""
        pending = self._pending
        batch = [pending.popleft() for _ in range(len(pending))]
        if batch:
            for tap in self.taps:
                tap(batch)
        return batch


class _Emitters(dict):
    """:attr:`Recorder.emit`: event class → its emitter, made on first use."""

    __slots__ = ("_recorder",)

    def __init__(self, recorder: Recorder) -> None:
        super().__init__()
        self._recorder = recorder

    def __missing__(self, kind: type[Event]) -> Callable[..., Event]:
        emit = self[kind] = self._recorder._emitter(kind)
        return emit
