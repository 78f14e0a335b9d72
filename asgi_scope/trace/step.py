"""Step mode: hold each ASGI message at the shim until the user lets it go.

A :class:`Gate` is the control surface between the UI thread and the server's
event loop (DESIGN.md, "Two loops"). The shim awaits :meth:`Gate.hold` before a
message crosses: before ``receive()`` hands it to the app, and before ``send()``
passes it to the server (which would write it to the socket). Held, the
message waits on an ``asyncio.Future`` of the server's loop, so every other
connection, the server and the UI carry on; the client simply waits for its
bytes.

The UI thread reads :meth:`Gate.held` (a snapshot under a lock) to show what is
about to happen, and releases with :meth:`step` (one message),
:meth:`continue_exchange` (the rest of one exchange) or :meth:`continue_all`
(stop stepping); or it lets a held message go edited (:meth:`edit`: the shim
hands over the edit instead) or drops it (:meth:`drop`). Releases cross
threads with ``loop.call_soon_threadsafe``.

The gate is also where the WebSocket composer reaches an open WebSocket:
each accepted session registers its ``compose`` callable (:meth:`open_socket`),
and :meth:`compose` calls it on the session's loop.

A breakpoint (:attr:`Gate.breakpoint`, a filter from :mod:`asgi_scope.trace.filter`)
limits holding to exchanges that match it, judged on what is known when the
first message of the exchange crosses: method, path, query, scope type and
request headers (``~m``, ``~u``, ``~p``, ``~t``, ``~hq``); parts that are not
known yet (status, response, duration) do not match then. Lifespan is never
held: the server waits for its startup before it listens.

The hot path's cost when not stepping is one attribute read per message.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from asgi_scope.trace.edit import DROP, DROPPABLE, EDITABLE
from asgi_scope.trace.snapshot import snapshot_message
from asgi_scope.trace.store import Exchange

PREVIEW = 64 * 1024
"""Bytes of a held message's body kept in its :class:`Held` snapshot (what the
editor can edit: a longer body is not editable)."""


@dataclass(frozen=True, slots=True)
class Held:
    """A message waiting at the shim.

    ``direction`` is ``"receive"`` (the server gave it; the app's ``receive()``
    returns it once released) or ``"send"`` (the app sent it; the server takes it,
    and writes what it becomes, once released). ``message`` is a snapshot (body
    cut to :data:`PREVIEW` bytes), ``since_ns`` the recorder time it was held at,
    ``number`` its order of arrival at the gate (from 1), ``cut`` the body bytes
    the snapshot lacks.
    """

    number: int
    conn: int
    exchange: int
    direction: str
    message: Any
    since_ns: int
    cut: int = 0


class Gate:
    """Holds messages at the shim while :attr:`stepping` (see the module docs).

    Thread-safe: :meth:`hold` runs on the server's loop; everything else may be
    called from any thread. ``now`` gives recorder time (nanoseconds) for
    :attr:`Held.since_ns`.
    """

    def __init__(self, stepping: bool = False, now: Callable[[], int] | None = None) -> None:
        self.stepping = stepping
        """Whether messages are held; the shim reads it once per message."""
        self.breakpoint: Callable[[Exchange], bool] | None = None
        """Hold only exchanges this filter keeps (None: every exchange)."""
        self._now = now or (lambda: 0)
        self._lock = threading.Lock()
        self._held: dict[int, tuple[Held, asyncio.AbstractEventLoop, asyncio.Future[Any]]] = {}
        self._sockets: dict[int, tuple[asyncio.AbstractEventLoop, Callable[[Any], None]]] = {}
        self._free: set[int] = set()  # exchanges let run to their end
        self._judged: dict[int, bool] = {}  # exchange -> matches the breakpoint
        self._count = 0
        self.version = 0
        """Bumped on every change of what is held (for a view to redraw only then)."""

    # -- the server's side ---------------------------------------------------

    def wants(self, conn: int, exchange: int, scope: dict[str, Any] | None) -> bool:
        """Whether a message of this exchange should be held now."""
        if not self.stepping or not conn or exchange in self._free:
            return False
        matcher = self.breakpoint
        if matcher is None:
            return True
        judged = self._judged.get(exchange)
        if judged is None:
            if len(self._judged) > 4096:  # bounded: old exchanges are long done
                self._judged.clear()
            judged = self._judged[exchange] = _matches(matcher, conn, exchange, scope)
        return judged

    async def hold(
        self, conn: int, exchange: int, direction: str, message: Any, scope: dict[str, Any] | None
    ) -> Any:
        """Wait until this message is released (returns at once if it is not to be
        held). Returns None (let it go as it is), :data:`DROP` (the user dropped
        it) or the message the user edited, to hand over instead. Cancelling
        the awaiting task (the client left, shutdown) drops it."""
        if not self.wants(conn, exchange, scope):
            return None
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        snap, _, cut = snapshot_message(message, PREVIEW)
        with self._lock:
            # The UI may have run continue_exchange/continue_all since wants():
            # holding now would hold a message nobody will ever release.
            if not self.stepping or exchange in self._free:
                return None
            self._count += 1
            held = Held(self._count, conn, exchange, direction, snap, self._now(), cut)
            self._held[held.number] = (held, loop, future)
            self.version += 1
        try:
            return await future
        finally:
            with self._lock:
                self._held.pop(held.number, None)
                self.version += 1

    # -- the UI's side -------------------------------------------------------

    def held(self) -> list[Held]:
        """What is held now, oldest first."""
        with self._lock:
            return [entry[0] for entry in sorted(self._held.values(), key=lambda e: e[0].number)]

    def step(self, exchange: int | None = None) -> Held | None:
        """Release one message: the oldest held of ``exchange``, or the oldest of all
        when ``exchange`` is None or has none held. Returns it (None if none)."""
        with self._lock:
            entries = sorted(self._held.values(), key=lambda e: e[0].number)
            mine = [e for e in entries if exchange is not None and e[0].exchange == exchange]
            chosen = (mine or entries or [None])[0]
        if chosen is None:
            return None
        _release(chosen)
        return chosen[0]

    def edit(self, number: int, message: dict[str, Any]) -> bool:
        """Let the held message ``number`` go as ``message`` instead (the user's
        edit: same ``type``). False if it is no longer held or ``message`` is
        not of its type."""
        with self._lock:
            entry = self._held.get(number)
        if entry is None or not _same_type(entry[0].message, message):
            return False
        _release(entry, message)
        return True

    def drop(self, number: int) -> bool:
        """Drop the held message ``number``: it is never handed over. Only a
        WebSocket message (:data:`~asgi_scope.trace.edit.DROPPABLE`); False if it is
        not one or no longer held."""
        with self._lock:
            entry = self._held.get(number)
        if entry is None or _type(entry[0].message) not in DROPPABLE:
            return False
        _release(entry, DROP)
        return True

    def open_socket(self, exchange: int, compose: Callable[[Any], None]) -> None:
        """An accepted WebSocket session (called on its loop): ``compose(message)``
        puts a message in what its app's ``receive()`` returns, until
        :meth:`close_socket`."""
        with self._lock:
            self._sockets[exchange] = (asyncio.get_running_loop(), compose)

    def close_socket(self, exchange: int) -> None:
        """The WebSocket session of ``exchange`` is over."""
        with self._lock:
            self._sockets.pop(exchange, None)

    def compose(self, exchange: int, message: dict[str, Any]) -> bool:
        """Give the app of the open WebSocket ``exchange`` a ``websocket.receive``
        ``message`` the user composed. False if that WebSocket is not open (any
        more) or ``message`` is not a ``websocket.receive``."""
        with self._lock:
            entry = self._sockets.get(exchange)
        if entry is None or _type(message) != "websocket.receive":
            return False
        loop, compose = entry
        try:
            loop.call_soon_threadsafe(compose, message)
        except RuntimeError:  # a closed loop: the session is gone
            return False
        return True

    def continue_exchange(self, exchange: int) -> int:
        """Let ``exchange`` run to its end unheld; returns how many were released."""
        with self._lock:
            self._free.add(exchange)
            entries = [e for e in self._held.values() if e[0].exchange == exchange]
        for entry in entries:
            _release(entry)
        return len(entries)

    def continue_all(self) -> int:
        """Stop stepping and release everything held; returns how many were."""
        with self._lock:
            self.stepping = False
            entries = list(self._held.values())
            self._free.clear()
            self._judged.clear()
            self.version += 1
        for entry in entries:
            _release(entry)
        return len(entries)

    def set_stepping(self, on: bool) -> None:
        """Turn step mode on or off (off releases everything held)."""
        if on:
            with self._lock:
                self.stepping = True
                self.version += 1
        else:
            self.continue_all()

    def set_breakpoint(self, matcher: Callable[[Exchange], bool] | None) -> None:
        """Hold only exchanges ``matcher`` keeps from now on (None: all)."""
        with self._lock:
            self.breakpoint = matcher
            self._judged.clear()
            self.version += 1


def _release(
    entry: tuple[Held, asyncio.AbstractEventLoop, asyncio.Future[Any]], verdict: Any = None
) -> None:
    _, loop, future = entry

    def wake() -> None:
        if not future.done():
            future.set_result(verdict)

    with contextlib.suppress(RuntimeError):  # a closed loop: nothing waits any more
        loop.call_soon_threadsafe(wake)


def _type(message: Any) -> Any:
    return message.get("type") if isinstance(message, dict) else None


def _same_type(held: Any, message: Any) -> bool:
    kind = _type(message)
    return kind is not None and kind == _type(held) and kind in EDITABLE


def _matches(matcher: Callable[[Exchange], bool], conn: int, exchange: int, scope: Any) -> bool:
    """Judge an exchange by what its scope says (see the module docs)."""
    if not isinstance(scope, dict):
        return False
    probe = Exchange(exchange, conn, 0, kind=str(scope.get("type", "?")))
    probe.method = str(scope.get("method", ""))
    probe.path = str(scope.get("path", ""))
    probe.scope = scope
    try:
        return bool(matcher(probe))
    except Exception:
        return False
