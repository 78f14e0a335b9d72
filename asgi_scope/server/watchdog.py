"""The loop-lag watchdog: notices when the app blocks the server's event loop.

An endpoint that does synchronous work inside ``async def`` (``time.sleep``, a
blocking driver, a long computation) stops every connection of the server
while it runs. Nothing in the server runs then, so nothing can say so at that
moment; the watchdog says it just after. A timer on the server's loop fires
every :data:`INTERVAL` seconds; when it fires :data:`THRESHOLD` seconds or
more late, the loop was blocked that long, and a ``ServerNote`` warning names
the exchanges that were in flight: those still running, and those started or
ended since the previous tick (an app that blocks and then answers at once has
finished before the late tick runs, and may have started before the previous
one).

Off the hot path: one timer callback per interval, and one bounded
``deque.append`` per exchange started (:attr:`ServerState.started`).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from asgi_scope.trace.events import ServerNote

if TYPE_CHECKING:
    from asgi_scope.server.state import ServerState

INTERVAL = 0.1
"""Seconds between two ticks of the watchdog."""

THRESHOLD = 0.5
"""A tick this many seconds late means the loop was blocked: a warning."""


def describe(owner: Any) -> str:
    """``#3 GET /slow`` (or ``#4 WebSocket /ws``) for a request cycle or session."""
    scope = getattr(owner, "scope", None) or {}
    what = "WebSocket" if scope.get("type") == "websocket" else str(scope.get("method", "?"))
    return f"#{getattr(owner, 'exchange', '?')} {what} {scope.get('path', '?')}"


class Watchdog:
    """Ticks on ``state``'s loop; records a warning for each block it sees."""

    def __init__(
        self, state: ServerState, interval: float = INTERVAL, threshold: float = THRESHOLD
    ) -> None:
        self.state = state
        self.interval = interval
        self.threshold = threshold
        self._loop: asyncio.AbstractEventLoop | None = None
        self._handle: asyncio.TimerHandle | None = None
        self._due = 0.0

    def start(self) -> None:
        """Start ticking on the running loop."""
        self._loop = asyncio.get_running_loop()
        self._schedule()

    def stop(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _schedule(self) -> None:
        assert self._loop is not None
        self._due = self._loop.time() + self.interval
        self._handle = self._loop.call_at(self._due, self._tick)

    def _tick(self) -> None:
        assert self._loop is not None
        late = self._loop.time() - self._due
        started = self.state.started
        if late >= self.threshold:
            self._warn(late, list(started))
        started.clear()
        self._schedule()

    def _warn(self, late: float, started: list[Any]) -> None:
        """Record the warning: the loop ran nothing else for at least ``late``
        seconds, while the ``started`` exchanges and those still running were
        in flight (one of them kept it)."""
        owners = {id(owner): owner for owner in started}
        for proto in list(self.state.connections):
            for owner in (getattr(proto, "cycle", None), getattr(proto, "websocket", None)):
                if owner is not None and not owner.app_returned:
                    owners.setdefault(id(owner), owner)
        ordered = sorted(owners.values(), key=lambda o: getattr(o, "exchange", 0))
        names = [describe(o) for o in ordered]
        where = f"in flight: {', '.join(names)}" if names else "no exchange in flight"
        self.state.recorder.record(
            ServerNote,
            conn=0,
            level="warning",
            text=f"the event loop was blocked for {late:.1f} s: an app's code ran that long "
            f"without an await that waits (sync work in async code, or a send() loop?); {where}",
        )
