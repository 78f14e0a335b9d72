"""The one interface between the sans-IO core and the I/O edge of a connection.

The core (:mod:`~asgi_scope.server.cycle`, the HTTP request cycle, and
:mod:`~asgi_scope.server.websocket`, the WebSocket session) turns ASGI messages
into bytes and bytes into ASGI messages, with h11 and wsproto; it never touches
a socket, an event loop or a clock. Whatever it needs of the world goes through
an :class:`Edge`: :class:`~asgi_scope.server.http.HTTPProtocol` is the asyncio
one, and the state-machine tests drive the core through a fake one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from asgi_scope.trace.recorder import Recorder

T = TypeVar("T")

APP_ERRORS = (Exception, KeyboardInterrupt, SystemExit)
"""What an app may raise that is its own failure (500, or close 1011), the server
serving on, as uvicorn does; anything else (a cancellation) ends the app's task."""


class Signal(Protocol):
    """A flag a coroutine can wait on (the shape of ``asyncio.Event``)."""

    def is_set(self) -> bool: ...

    def set(self) -> None: ...

    def clear(self) -> None: ...

    async def wait(self) -> Any: ...


class Timer(Protocol):
    """A callback scheduled by :meth:`Edge.call_later`."""

    def cancel(self) -> None: ...


class Edge(Protocol):
    """What an exchange (request cycle or WebSocket session) needs of its
    connection's I/O: writing and closing, reading flow control, waiting and
    timers, and the recorder. Offsets and budgets are in bytes.
    """

    conn: int
    """The connection's id in the trace (1, 2, ...)."""

    recorder: Recorder
    """Where events are recorded (an append each)."""

    in_offset: int
    """Bytes received on the connection so far: the stream offset of the next byte in."""

    out_offset: int
    """Bytes written on the connection so far: the stream offset of the next byte out."""

    writable: Signal
    """Set while the transport's write buffer is below its high-water mark."""

    def write(self, data: bytes, exchange: int, cause: int, budget: int, hold: bool = False) -> int:
        """Write ``data`` for ``exchange`` and record it as ``BytesSent`` (``cause``:
        the ``seq`` of the message it came from, 0 for the server's own), keeping
        at most ``budget`` bytes in the trace; return how many it kept. ``hold``
        (a response head) may hold the bytes back to go out with the next write."""
        ...

    def close(self, by: str, reason: str) -> None:
        """Close the connection (after held bytes are written); ``by`` (``"server"``,
        ``"client"``) and ``reason`` are recorded when it has closed."""
        ...

    def is_closing(self) -> bool:
        """True once the connection is closed or closing: writes go nowhere."""
        ...

    def pause_reading(self) -> None:
        """Stop reading from the client (flow control, RFC 9112 §9.3 pipelining)."""
        ...

    def resume_reading(self) -> None:
        """Read from the client again."""
        ...

    def response_complete(self) -> None:
        """The current response is complete: keep the connection for the next
        request (RFC 9112 §9.3) or close it (§9.6)."""
        ...

    def signal(self) -> Signal:
        """A new :class:`Signal`, clear."""
        ...

    def call_later(self, delay: float, callback: Callable[..., object], *args: Any) -> Timer:
        """Call ``callback(*args)`` in ``delay`` seconds, unless cancelled."""
        ...

    async def to_thread(self, func: Callable[..., T], *args: Any) -> T:
        """``func(*args)`` run off the edge's loop (blocking file I/O); its result
        or its exception."""
        ...
