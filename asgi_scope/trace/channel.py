"""The channel between the app process and the inspector: frames, and events in them.

The app process (:mod:`asgi_scope.server.worker`) records into its own
:class:`~asgi_scope.trace.recorder.Recorder` and writes what it drained to a
Unix socket pair, in *frames*; the inspector (:mod:`asgi_scope.server.supervisor`)
reads them back and queues the events in its :class:`RelayRecorder`, which the
views drain as they drain any recorder. Commands go the other way in the same
frames.

A frame is a 4-byte big-endian length, then that many bytes of a pickle of a
``(tag, data)`` tuple of plain values (tuples, lists, dicts, str, bytes, int,
float, bool, None). Events travel in one flat list, each as ``kind`` (the index
of its class in :data:`KINDS`) followed by every dataclass field in order (no
tuple per event: fewer objects to build, pickle and unpickle). That costs the
app process about 0.5 µs per event to encode (pickling the dataclasses
themselves costs 2 µs; measured in tests/benchmarks).

Reading is bounded and admits only plain values: a frame longer than
:data:`MAX_FRAME` bytes, a pickle that names any class or function, an unknown
kind or a wrong number of fields raises :class:`ChannelError`.
"""

from __future__ import annotations

import dataclasses
import io
import operator
import pickle
import struct
from typing import Any

from asgi_scope.trace.backlog import BoundedRelay
from asgi_scope.trace.capture import MAX_REPR, Opaque, event_kinds
from asgi_scope.trace.events import (
    BytesSent,
    Event,
    ExchangeEnded,
    MessageReceived,
    MessageSent,
    ScopeCreated,
    SpecViolation,
    WebSocketFrame,
)

KINDS: tuple[type[Event], ...] = tuple(sorted(event_kinds().values(), key=lambda k: k.__name__))
"""Every event class, in a fixed order both processes share (same code, same order)."""

_ENCODERS = {
    kind: (i, operator.attrgetter(*(f.name for f in dataclasses.fields(kind))))
    for i, kind in enumerate(KINDS)
}
_ARITY = [len(dataclasses.fields(kind)) for kind in KINDS]
_SCOPE_CREATED, _EXCHANGE_ENDED = KINDS.index(ScopeCreated), KINDS.index(ExchangeEnded)
_ENDED_FIELDS = [f.name for f in dataclasses.fields(ExchangeEnded)]
_SCOPE = _ENDED_FIELDS.index("scope")

MAX_SCOPES = 10_000
"""Exchanges in flight whose scope both ends of a channel keep (see
:func:`events_frame`): past it the writer starts again and tells the reader."""

_RESET = None
"""The first item of an ``"events"`` frame's data whose writer cleared its map of
scopes before it: the reader clears its own there."""

MAX_FRAME = 64 * 1024 * 1024
"""The largest frame either side accepts, in bytes (a batch holds bodies cut at
``--max-body``; a peer announcing more is refused)."""

_LENGTH = struct.Struct(">I")
_PROTOCOL = pickle.HIGHEST_PROTOCOL


class ChannelError(ValueError):
    """A frame that is too long, or not a channel frame; ``str()`` is one line."""


_BASES = (str, int, float, bytes, dict, list, tuple)
_GLOBALS = (*_BASES, Opaque)
_ALLOWED = {(kind.__module__, kind.__name__) for kind in _GLOBALS}


class _PlainPickler(pickle.Pickler):
    """Pickles what an app put in its messages as plain values: a subclass of a
    plain type as that type, anything else as an :class:`~asgi_scope.trace.capture.Opaque`
    of its ``repr`` (as a capture keeps it). Plain values never reach
    :meth:`reducer_override` (the C pickler writes them first)."""

    def reducer_override(self, obj: Any) -> Any:
        if obj in _GLOBALS:  # the callables of the reductions below
            return NotImplemented
        for base in _BASES:
            if isinstance(obj, base):
                return base, (base(obj),)
        if isinstance(obj, (bytearray, memoryview)):
            return bytes, (bytes(obj),)
        kind = type(obj)
        try:
            text = repr(obj)[:MAX_REPR]
        except Exception as exc:  # a broken __repr__ in the app must not stop recording
            text = f"<{kind.__qualname__} object; repr() raised {type(exc).__name__}>"
        return Opaque, (text, f"{kind.__module__}.{kind.__qualname__}")


_BUFFER = io.BytesIO(bytes(_LENGTH.size))
"""Where frames are built: the length's bytes, then the pickle (see :func:`frame`)."""
_BUFFER.seek(_LENGTH.size)
_PICKLER = _PlainPickler(_BUFFER, _PROTOCOL)


def frame(tag: str, data: Any) -> bytes:
    """One frame carrying ``(tag, data)``, built in place: pickled after the bytes
    kept for its length, which are written last (no second copy of the payload).
    Raises what pickling raises (a structure nested too deeply...). One thread
    at a time (the app process's loop; the inspector's).

    The pickler keeps its memo (not its fast mode, which is quicker on small
    frames): a body recorded twice in one frame, as the message the app sent
    and as the bytes it became, is the same object and crosses once.
    """
    buffer, pickler = _BUFFER, _PICKLER
    try:
        pickler.dump((tag, data))
        end = buffer.tell()
        buffer.seek(0)
        buffer.write(_LENGTH.pack(end - _LENGTH.size))
        return buffer.getvalue()
    finally:
        pickler.clear_memo()
        buffer.seek(_LENGTH.size)
        buffer.truncate()


def events_frame(batch: list[Event], scopes: dict[int, Any] | None = None) -> tuple[bytes, int]:
    """One ``"events"`` frame carrying ``batch``, oldest first, and how many events
    were left out because they could not be encoded (as a capture leaves them).

    ``scopes`` is the channel's map of each exchange to the scope of the last
    :class:`ScopeCreated` it carried, until the exchange's :class:`ExchangeEnded`
    (kept by the writer across frames; :func:`decode_events` keeps its twin). An
    ``ExchangeEnded`` whose scope is that very object (the app left it as it
    was: the usual case) carries ``None`` in its place, and the reader puts the
    scope it already has back: a scope crosses once per exchange, not twice.
    The writer clears its map past :data:`MAX_SCOPES` entries and starts that
    frame with :data:`_RESET`, where the reader clears its own: the two maps are
    cleared at the same frame. An ``ExchangeEnded`` left out leaves its scope in
    the reader's map until then; a ``ScopeCreated`` left out is taken out of the
    writer's, so that its exchange's end carries its scope whole."""
    reset = False
    if scopes is None:
        scopes = {}
    elif len(scopes) >= MAX_SCOPES:
        scopes.clear()
        reset = True
    encoders = _ENCODERS
    rows: list[Any] = [_RESET] if reset else []
    for event in batch:
        kind = type(event)
        index, fields = encoders[kind]
        if kind is ExchangeEnded and scopes.pop(event.exchange, None) is event.scope:  # type: ignore[attr-defined]
            rows.append(index)
            rows += fields(event)
            rows[_SCOPE - len(_ENDED_FIELDS)] = None
            continue
        if kind is ScopeCreated:
            scopes[event.exchange] = event.scope  # type: ignore[attr-defined]
        rows.append(index)
        rows += fields(event)
    try:
        return frame("events", rows), 0
    except Exception:
        kept: list[Any] = [_RESET] if reset else []
        lost = 0
        for event in batch:  # each alone, with its own scope, as if none had crossed
            index, fields = encoders[type(event)]
            row = [index, *fields(event)]
            try:
                frame("events", row)
            except Exception:
                if isinstance(event, ScopeCreated) and scopes.get(event.exchange) is event.scope:
                    del scopes[event.exchange]
                lost += 1
                continue
            kept += row
        return frame("events", kept), lost


def decode_events(data: Any, scopes: dict[int, Any] | None = None) -> list[Event]:
    """The events of an ``"events"`` frame's data; ``scopes`` the reader's map of
    exchanges to scopes (see :func:`events_frame`: an ``ExchangeEnded`` without
    its scope gets it back from there; cleared where the writer says so). A
    writer that never says so (not ours) cannot make it grow past twice
    :data:`MAX_SCOPES`: it is cleared there, and an end whose scope is gone gets
    an empty one. Raises :class:`ChannelError`."""
    if scopes is None:
        scopes = {}
    try:
        if type(data) is not list:
            raise TypeError(f"a {type(data).__name__}, not a list")
        events = []
        start, end = 0, len(data)
        if end and data[0] is _RESET:
            scopes.clear()
            start = 1
        elif len(scopes) >= 2 * MAX_SCOPES:
            scopes.clear()
        while start < end:
            kind = data[start]
            if type(kind) is not int or not 0 <= kind < len(KINDS):
                raise ValueError(f"no kind of event {kind!r}")
            fields = data[start + 1 : start + 1 + _ARITY[kind]]
            if len(fields) != _ARITY[kind]:
                raise ValueError(f"{len(fields)} fields for a {KINDS[kind].__name__}")
            start += 1 + len(fields)
            event = KINDS[kind](*fields)
            if kind == _SCOPE_CREATED:
                scopes[event.exchange] = event.scope  # type: ignore[attr-defined]
            elif kind == _EXCHANGE_ENDED:
                scope = scopes.pop(event.exchange, {})  # type: ignore[attr-defined]
                if event.scope is None:  # type: ignore[attr-defined]
                    event.scope = scope  # type: ignore[attr-defined]
            events.append(event)
    except (TypeError, ValueError, IndexError) as exc:
        raise ChannelError(f"not a batch of events: {exc}") from None
    return events


class _PlainUnpickler(pickle.Unpickler):
    """Refuses every global but the plain types and :class:`Opaque`."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _ALLOWED:
            raise ChannelError(f"the channel carries plain values only, not {module}.{name}")
        return super().find_class(module, name)


class FrameReader:
    """Cuts a byte stream into frames: :meth:`feed` bytes, get ``(tag, data)`` pairs."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[tuple[str, Any]]:
        """Every complete frame in what was fed so far, oldest first. Raises
        :class:`ChannelError` for a frame longer than :data:`MAX_FRAME` or that
        does not decode. What is left of the buffer moves once per call."""
        buffer = self._buffer
        buffer += data
        frames = []
        start, length = 0, len(buffer)
        try:
            while length - start >= 4:
                (size,) = _LENGTH.unpack_from(buffer, start)
                if size > MAX_FRAME:
                    raise ChannelError(f"a frame of {size} bytes (at most {MAX_FRAME})")
                end = start + 4 + size
                if length < end:
                    break
                frames.append(decode(buffer[start + 4 : end]))
                start = end
        finally:
            del buffer[:start]
        return frames


def decode(payload: bytes | bytearray) -> tuple[str, Any]:
    """A frame's payload as ``(tag, data)``. Raises :class:`ChannelError`."""
    try:
        tag, data = _PlainUnpickler(io.BytesIO(payload)).load()
    except ChannelError:
        raise
    except Exception as exc:
        raise ChannelError(f"not a channel frame: {type(exc).__name__}") from None
    if not isinstance(tag, str):
        raise ChannelError("not a channel frame: no tag")
    return tag, data


_CAUSED = (BytesSent, WebSocketFrame, SpecViolation)
_CAUSES = (MessageSent, MessageReceived)


class RelayRecorder(BoundedRelay):
    """The inspector's recorder: its own events (notes) and those relayed from app
    processes, in one order.

    :meth:`relay` gives each relayed event a new ``seq`` from this recorder's
    counter (the order of arrival; two app processes overlap during a reload)
    and moves the ``cause`` of bytes, frames and violations to the new ``seq`` of
    the message they point at. ``t_ns`` is kept: app processes count from this
    recorder's start (:attr:`t0_ns`, the monotonic clock every process shares).

    Bounded (:class:`~asgi_scope.trace.backlog.BoundedRelay`): a view slower
    than the app processes loses events, counted, never holds them up.
    """

    __slots__ = ()

    @property
    def t0_ns(self) -> int:
        """The monotonic clock's reading at ``t_ns`` 0, for the app processes."""
        return self._t0

    def relay(self, events: list[Event], causes: dict[int, int]) -> None:
        """Queue ``events`` of one app process; ``causes`` is that process's map of
        its ``seq`` to ours (for messages; bounded: cleared past 65536 entries)."""
        if not self.admit(events):
            return
        count, append = self._count, self._pending.append
        if len(causes) > 65536:
            causes.clear()
        for event in events:
            seq = next(count)
            if isinstance(event, _CAUSES):
                causes[event.seq] = seq
            elif isinstance(event, _CAUSED) and event.cause:
                event.cause = causes.get(event.cause, 0)  # type: ignore[union-attr]
            event.seq = seq
            append(event)
